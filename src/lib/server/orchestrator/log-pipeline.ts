/**
 * @module orchestrator/log-pipeline
 * Where one execution's output lines go: numbered 1..n in arrival order across stdout and
 * stderr, streamed at once as `tool.output`, and stored in batched transactions. `close()`
 * resolves only when every line is stored, so a `tool.completed` published after it never
 * announces a log that a download could not yet return in full.
 */
import type { LogLine, LogStream } from '../../protocol';
import type { EventBus } from '../bus/types';
import type { Logger } from '../logger';
import type { Store } from '../store/types';
import { publish } from './emit';
import { parseWorkflowCommand, type WorkflowCommand } from './workflow-commands';

export interface LogPipelineOptions {
	store: Store;
	bus: EventBus;
	logger: Logger;
	task_id: string;
	run_id: string | null;
	execution_id: string;
	/** called for each workflow command (`::progress …`) in the output */
	onCommand?: (command: WorkflowCommand) => void;
	/** how long a line may wait to be stored */
	flushIntervalMs?: number;
	/** a batch this big is stored at once */
	maxBatchLines?: number;
}

export const DEFAULT_FLUSH_INTERVAL_MS = 50;
export const DEFAULT_MAX_BATCH_LINES = 500;
/** a batch the store refused this many times in a row is given up (and logged) */
const MAX_WRITE_ATTEMPTS = 3;

export class LogPipeline {
	#options: Required<Omit<LogPipelineOptions, 'onCommand'>> & Pick<LogPipelineOptions, 'onCommand'>;
	#count = 0;
	#buffer: LogLine[] = [];
	#writes: Promise<void> = Promise.resolve();
	#writeQueued = false;
	#attempts = 0;
	#timer: NodeJS.Timeout | null = null;
	#closed = false;

	constructor(options: LogPipelineOptions) {
		this.#options = {
			flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS,
			maxBatchLines: DEFAULT_MAX_BATCH_LINES,
			...options
		};
	}

	/** lines numbered so far (= the last line's number) */
	get lineCount(): number {
		return this.#count;
	}

	/** `partial`: the tool printed no newline after `text` yet (a progress snapshot, see LogLine) */
	push(stream: LogStream, text: string, partial = false): void {
		if (this.#closed) return;
		const { bus, task_id, run_id, execution_id } = this.#options;
		const line: LogLine = { n: ++this.#count, stream, ts: new Date().toISOString(), text };
		if (partial) line.partial = true;
		this.#buffer.push(line);
		publish(bus, 'tool.output', {
			task_id,
			run_id,
			execution_id,
			line: line.n,
			output: text,
			is_stderr: stream === 'stderr',
			timestamp: line.ts,
			...(partial ? { partial: true as const } : {})
		});
		if (!partial) this.#command(text);
		if (this.#buffer.length >= this.#options.maxBatchLines) this.#flush();
		else this.#schedule();
	}

	/** Stores what is left; resolves when every line is stored (or given up and logged). */
	async close(): Promise<void> {
		this.#closed = true;
		this.#clearTimer();
		while (this.#buffer.length > 0 || this.#writeQueued) await this.#flush();
		await this.#writes;
	}

	#command(text: string): void {
		const { onCommand, logger } = this.#options;
		if (!onCommand) return;
		const command = parseWorkflowCommand(text);
		if (!command) return;
		try {
			onCommand(command);
		} catch (err) {
			logger.warn({ err }, 'handling a workflow command failed');
		}
	}

	#schedule(): void {
		if (this.#timer || this.#writeQueued) return;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			void this.#flush();
		}, this.#options.flushIntervalMs);
		this.#timer.unref();
	}

	#clearTimer(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}

	/** queues one write of everything buffered at the time it runs; writes never overlap */
	#flush(): Promise<void> {
		this.#clearTimer();
		if (!this.#writeQueued) {
			this.#writeQueued = true;
			this.#writes = this.#writes.then(() => this.#write());
		}
		return this.#writes;
	}

	async #write(): Promise<void> {
		this.#writeQueued = false;
		if (this.#buffer.length === 0) return;
		const batch = this.#buffer;
		this.#buffer = [];
		const { store, logger, execution_id } = this.#options;
		try {
			await store.appendLogLines(execution_id, batch);
			this.#attempts = 0;
		} catch (err) {
			this.#attempts++;
			if (this.#attempts < MAX_WRITE_ATTEMPTS) {
				// line numbers must stay contiguous, so the batch goes back in front of newer lines
				this.#buffer = batch.concat(this.#buffer);
				logger.warn({ err, execution_id, lines: batch.length }, 'storing log lines failed; will retry');
				if (!this.#closed) this.#schedule();
			} else {
				this.#attempts = 0;
				logger.error(
					{ err, execution_id, from: batch[0].n, to: batch[batch.length - 1].n },
					'storing log lines failed repeatedly; these lines are lost from the stored log'
				);
			}
		}
		if (this.#buffer.length > 0 && !this.#closed) this.#schedule();
	}
}
