/**
 * @module orchestrator/log-pipeline
 * Where one execution's output lines go: masked (the task's secrets become `***`, see
 * masking/), held to the execution's output limit, numbered 1..n in arrival order across
 * stdout and stderr, streamed at once as `tool.output`, and stored in batched transactions.
 * `close()` resolves only when every line is stored, so a `tool.completed` published after it
 * never announces a log that a download could not yet return in full.
 *
 * Memory stays bounded whatever the tool prints: a batch is written once it holds
 * `maxBatchBytes`, and while a write is under way with that much waiting, {@link pressure}
 * tells the reader to stop reading the tool's pipes until it is done.
 */
import type { LogLine, LogStream } from '../../protocol';
import type { EventBus } from '../bus/types';
import { describeStorageFailure, isDiskFull, type StorageGuard } from '../disk-guard';
import type { Logger } from '../logger';
import { DEFAULT_MAX_MASK_VALUES, MaskSet } from '../masking/mask-set';
import { StreamMasker } from '../masking/stream-masker';
import type { Store } from '../store/types';
import { publish } from './emit';
import {
	DEFAULT_OUTPUT_MAX_BYTES,
	DEFAULT_OUTPUT_MAX_LINES,
	OutputLimit,
	formatCount,
	type DroppedOutput,
	type OutputLimitConfig
} from './output-limit';
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
	/** a batch holding this many bytes of text is stored at once */
	maxBatchBytes?: number;
	/** the task's secrets, masked in every line (and added to by `::add-mask::`) */
	masks?: MaskSet;
	/** what the execution may keep */
	outputLimit?: OutputLimitConfig;
	/** the data folder's disk-full guard; while it says full, lines are not written */
	storage?: StorageGuard;
	/**
	 * the lines cannot be stored (the disk is full, the store keeps failing): nothing more is
	 * stored, and the caller should stop the tool and fail its task with `message`
	 */
	onStoreFailure?: (message: string, err: unknown) => void;
}

export const DEFAULT_FLUSH_INTERVAL_MS = 50;
export const DEFAULT_MAX_BATCH_LINES = 500;
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
/** a batch the store refused this many times in a row is given up: the task fails */
const MAX_WRITE_ATTEMPTS = 3;

type OptionalHooks = 'onCommand' | 'storage' | 'onStoreFailure';

export class LogPipeline {
	#options: Required<Omit<LogPipelineOptions, OptionalHooks>> & Pick<LogPipelineOptions, OptionalHooks>;
	#count = 0;
	#buffer: LogLine[] = [];
	#bufferBytes = 0;
	#writes: Promise<void> = Promise.resolve();
	#writeQueued = false;
	#writing = false;
	#attempts = 0;
	#timer: NodeJS.Timeout | null = null;
	#closed = false;
	#failed = false;
	#maskers: Record<LogStream, StreamMasker>;
	#limit: OutputLimit;
	#lastPartial = false;
	#pressure: { promise: Promise<void>; resolve: () => void } | null = null;

	constructor(options: LogPipelineOptions) {
		this.#options = {
			flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS,
			maxBatchLines: DEFAULT_MAX_BATCH_LINES,
			maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
			masks: new MaskSet(),
			outputLimit: { maxBytes: DEFAULT_OUTPUT_MAX_BYTES, maxLines: DEFAULT_OUTPUT_MAX_LINES },
			...options
		};
		const onAddMask = (accepted: boolean) => {
			if (!accepted) this.#append('stderr', ADD_MASK_REFUSED, false);
		};
		this.#maskers = {
			stdout: new StreamMasker(this.#options.masks, onAddMask),
			stderr: new StreamMasker(this.#options.masks, onAddMask)
		};
		this.#limit = new OutputLimit(this.#options.outputLimit);
	}

	/** lines numbered so far (= the last line's number) */
	get lineCount(): number {
		return this.#count;
	}

	/** output counted but not kept because the execution passed its output limit */
	get dropped(): Readonly<DroppedOutput> {
		return this.#limit.dropped;
	}

	/**
	 * While a write is under way and a full batch waits behind it: resolves when the reader may
	 * go on. Null when it may go on now.
	 */
	get pressure(): Promise<void> | null {
		return this.#pressure?.promise ?? null;
	}

	/** `partial`: the tool printed no newline after `text` yet (a progress snapshot, see LogLine) */
	push(stream: LogStream, text: string, partial = false): void {
		if (this.#closed) return;
		const piece = this.#maskers[stream].push(text, partial);
		if (piece) this.#accept(stream, piece.text, piece.partial);
	}

	/** a masked piece: kept, or counted past the output limit */
	#accept(stream: LogStream, text: string, partial: boolean): void {
		const verdict = this.#limit.admit(text, partial);
		if (verdict !== 'store') {
			if (verdict === 'limit') this.#marker(this.#limit.reachedLine());
			// past the limit `::progress` still moves the bar; the line itself is not kept
			if (!partial) this.#command(text);
			return;
		}
		this.#append(stream, text, partial);
	}

	/** a line of aco's own on its own terminal line, even after a tool's unfinished one */
	#marker(text: string): void {
		if (this.#lastPartial) this.#append('stderr', '', false);
		this.#append('stderr', text, false);
	}

	#append(stream: LogStream, text: string, partial: boolean): void {
		const { bus, task_id, run_id, execution_id } = this.#options;
		const line: LogLine = { n: ++this.#count, stream, ts: new Date().toISOString(), text };
		if (partial) line.partial = true;
		this.#lastPartial = partial;
		if (!this.#failed) {
			this.#buffer.push(line);
			this.#bufferBytes += text.length;
		}
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
		if (this.#failed) return;
		if (
			this.#buffer.length >= this.#options.maxBatchLines ||
			this.#bufferBytes >= this.#options.maxBatchBytes
		) {
			void this.#flush();
			if (this.#writing) this.#holdReader();
		} else {
			this.#schedule();
		}
	}

	/**
	 * Masks and keeps what the maskers still hold back, writes the final output-limit marker,
	 * stores what is left; resolves when every line is stored (or the store failed, reported).
	 */
	async close(): Promise<void> {
		if (!this.#closed) {
			for (const stream of ['stdout', 'stderr'] as const) {
				const rest = this.#maskers[stream].flush();
				if (rest) this.#accept(stream, rest.text, rest.partial);
			}
			if (this.#limit.reached) this.#marker(this.#limit.finalLine());
		}
		this.#closed = true;
		this.#clearTimer();
		while (this.#buffer.length > 0 || this.#writeQueued) await this.#flush();
		await this.#writes;
		this.#releaseReader();
	}

	#holdReader(): void {
		if (this.#pressure) return;
		let resolve!: () => void;
		const promise = new Promise<void>((r) => (resolve = r));
		this.#pressure = { promise, resolve };
	}

	#releaseReader(): void {
		const pressure = this.#pressure;
		this.#pressure = null;
		pressure?.resolve();
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
		if (this.#buffer.length === 0 || this.#failed) return;
		const batch = this.#buffer;
		const batchBytes = this.#bufferBytes;
		this.#buffer = [];
		this.#bufferBytes = 0;
		const { store, logger, execution_id, storage } = this.#options;
		this.#writing = true;
		try {
			if (storage?.full) throw new DataFolderFullError();
			await store.appendLogLines(execution_id, batch);
			this.#attempts = 0;
		} catch (err) {
			this.#attempts++;
			const full = storage ? storage.report(err) : isDiskFull(err);
			if (!full && this.#attempts < MAX_WRITE_ATTEMPTS) {
				// line numbers must stay contiguous, so the batch goes back in front of newer lines
				this.#buffer = batch.concat(this.#buffer);
				this.#bufferBytes += batchBytes;
				logger.warn({ err, execution_id, lines: batch.length }, 'storing log lines failed; will retry');
				if (!this.#closed) this.#schedule();
			} else {
				this.#fail(err, batch);
			}
		} finally {
			this.#writing = false;
		}
		if (this.#buffer.length > 0 && !this.#closed && !this.#failed) this.#schedule();
		if (this.#bufferBytes < this.#options.maxBatchBytes) this.#releaseReader();
	}

	/** the store cannot take this log: nothing more is kept, and the task is told */
	#fail(err: unknown, batch: LogLine[]): void {
		const { logger, execution_id, onStoreFailure } = this.#options;
		this.#failed = true;
		this.#buffer = [];
		this.#bufferBytes = 0;
		this.#clearTimer();
		this.#releaseReader();
		logger.error(
			{ err, execution_id, from: batch[0].n, to: batch[batch.length - 1].n },
			'storing log lines failed; no further output of this tool is stored'
		);
		try {
			onStoreFailure?.(describeStorageFailure(err), err);
		} catch (failure) {
			logger.warn({ err: failure }, 'handling a store failure failed');
		}
	}
}

/** the reason no line is written while the disk guard says the data folder is full */
class DataFolderFullError extends Error {
	readonly code = 'ENOSPC';
	constructor() {
		super('no space left in the data folder');
	}
}

const ADD_MASK_REFUSED = `::warning::A value announced with ::add-mask:: was not added: this task already masks the most values aco keeps (${formatCount(DEFAULT_MAX_MASK_VALUES)}); it is not masked.`;
