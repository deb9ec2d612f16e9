/**
 * @module orchestrator/log-pipeline
 * Where one execution's output lines go: masked (the task's secrets become `***`, see
 * masking/), held to the execution's output limit, numbered 1..n in arrival order across
 * stdout and stderr, streamed at once as `tool.lines`, and stored in batched transactions.
 *
 * The lines that arrive together (one read of the tool's pipes, handled in one go) leave as one
 * `tool.lines` event once that read is handled (a microtask), at most `MAX_LINES_PER_EVENT`
 * lines or `MAX_EVENT_TEXT` characters each: a tool printing flat out costs an event per
 * read rather than per line, and a line printed alone still leaves at once. Lines always leave
 * before anything their commands publish (`::progress`), and before `close()` returns.
 * `close()` resolves only when every line is stored, so a `tool.completed` published after it
 * never announces a log that a download could not yet return in full.
 *
 * Memory stays bounded whatever the tool prints: a batch is written once it holds
 * `maxBatchBytes` (or `maxBatchLines`). Lines that arrive while a write is under way wait for
 * the next one, which takes them all up to the store's preferred append (`Store.logBatch`:
 * PostgreSQL stores a backlog fastest in appends of thousands of lines); once that much waits,
 * {@link pressure} tells the reader to stop reading the tool's pipes until the write is done.
 *
 * A batch the store refuses is retried a few times, then given up (the task fails, see
 * `onStoreFailure`). A store that cannot be reached (PostgreSQL down or restarting, see
 * store/errors) is different: the tool keeps running, its lines are kept in order and written
 * with backoff once the store is back, so the outage leaves no gap. What is kept meanwhile is
 * bounded (`storeOutage`): past that many lines or bytes, or an outage longer than `maxMs`,
 * nothing more is kept and `onStoreFailure` is told (the task fails), while the lines already
 * kept are still written once the store is back, so the stored log is a gap-free prefix.
 */
import Denque from 'denque';
import { startsNewEvent, toOutputLine, type LogLine, type LogStream, type OutputLine } from '../../protocol';
import type { EventBus } from '../bus/types';
import { isoNow } from '../iso-now';
import { describeStorageFailure, isDiskFull, type StorageGuard } from '../disk-guard';
import type { Logger } from '../logger';
import { DEFAULT_MAX_MASK_VALUES, MaskSet } from '../masking/mask-set';
import { StreamMasker } from '../masking/stream-masker';
import { isStoreUnavailable } from '../store/errors';
import type { LogBatchSize, Store } from '../store/types';
import { publish } from './emit';
import {
	DEFAULT_OUTPUT_MAX_BYTES,
	DEFAULT_OUTPUT_MAX_LINES,
	OutputLimit,
	formatBytes,
	formatCount,
	type DroppedOutput,
	type OutputLimitConfig
} from './output-limit';
import { Backoff, DEFAULT_RETRY_FIRST_MS, DEFAULT_RETRY_MAX_MS } from './store-retry';
import { parseWorkflowCommand, type WorkflowCommand } from './workflow-commands';

/** What an execution keeps while the store cannot be reached, and for how long it waits. */
export interface StoreOutageConfig {
	/** lines kept at most (default {@link DEFAULT_OUTAGE_MAX_LINES}) */
	maxLines?: number;
	/** bytes of text kept at most (default {@link DEFAULT_OUTAGE_MAX_BYTES}) */
	maxBytes?: number;
	/** the longest outage a running tool rides out (default {@link DEFAULT_OUTAGE_MAX_MS}) */
	maxMs?: number;
}

export const DEFAULT_OUTAGE_MAX_LINES = 100_000;
export const DEFAULT_OUTAGE_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_OUTAGE_MAX_MS = 5 * 60_000;

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
	/**
	 * the most one write takes when more waits behind it (a backlog), and how much may wait
	 * before the reader is held (default: the store's `logBatch`; never below the batch size)
	 */
	maxWrite?: LogBatchSize;
	/** the task's secrets, masked in every line (and added to by `::add-mask::`) */
	masks?: MaskSet;
	/** what the execution may keep */
	outputLimit?: OutputLimitConfig;
	/** longest wait between two writes while the store cannot be reached (backoff from 100 ms) */
	retryMaxMs?: number;
	/** what is kept while the store cannot be reached, and how long that is waited out */
	storeOutage?: StoreOutageConfig;
	/** the data folder's disk-full guard; while it says full, lines are not written */
	storage?: StorageGuard;
	/**
	 * the lines cannot be stored (the disk is full, the store keeps failing, an outage outlasts
	 * `storeOutage`): nothing more is kept, and the caller should stop the tool and fail its
	 * task with `message`
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
	#options: Required<Omit<LogPipelineOptions, OptionalHooks | 'storeOutage' | 'maxWrite'>> &
		Pick<LogPipelineOptions, OptionalHooks>;
	#outage: Required<StoreOutageConfig>;
	/** what one write takes at most; see `maxWrite` */
	#maxWrite: LogBatchSize;
	#count = 0;
	/** lines kept and not yet taken by a write, oldest first */
	#buffer = new Denque<LogLine>();
	#bufferBytes = 0;
	#writes: Promise<void> = Promise.resolve();
	#writeQueued = false;
	#writing = false;
	#attempts = 0;
	#timer: NodeJS.Timeout | null = null;
	#closed = false;
	/** the store refused the log: nothing more is written */
	#failed = false;
	/** false once nothing more is kept (the store failed, or an outage outlasted what is kept) */
	#keeping = true;
	/** the number of the last line kept for storing */
	#kept = 0;
	#maskers: Record<LogStream, StreamMasker>;
	#limit: OutputLimit;
	#lastPartial = false;
	/** lines numbered and not yet published, oldest first */
	#live: OutputLine[] = [];
	#liveChars = 0;
	/** a microtask will publish #live */
	#liveQueued = false;
	#pressure: { promise: Promise<void>; resolve: () => void } | null = null;
	/** the wait before the next attempt at a batch the store refused */
	#retry: { timer: NodeJS.Timeout; promise: Promise<void>; resolve: () => void } | null = null;
	#backoff: Backoff;
	/** false once the task is interrupted: an unreachable store is no longer waited for */
	#waitForStore = true;
	/** since when the store could not be reached (null: it could, last time) */
	#unavailableSince: number | null = null;

	constructor({ storeOutage, maxWrite, ...options }: LogPipelineOptions) {
		this.#outage = {
			maxLines: DEFAULT_OUTAGE_MAX_LINES,
			maxBytes: DEFAULT_OUTAGE_MAX_BYTES,
			maxMs: DEFAULT_OUTAGE_MAX_MS,
			...storeOutage
		};
		this.#options = {
			flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS,
			maxBatchLines: DEFAULT_MAX_BATCH_LINES,
			maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
			retryMaxMs: DEFAULT_RETRY_MAX_MS,
			masks: new MaskSet(),
			outputLimit: { maxBytes: DEFAULT_OUTPUT_MAX_BYTES, maxLines: DEFAULT_OUTPUT_MAX_LINES },
			...options
		};
		const { maxBatchLines, maxBatchBytes, store } = this.#options;
		const preferred = maxWrite ?? store.logBatch;
		this.#maxWrite = {
			lines: Math.max(maxBatchLines, preferred?.lines ?? 0),
			bytes: Math.max(maxBatchBytes, preferred?.bytes ?? 0)
		};
		const onAddMask = (accepted: boolean) => {
			if (!accepted) this.#append('stderr', ADD_MASK_REFUSED, false);
		};
		this.#maskers = {
			stdout: new StreamMasker(this.#options.masks, onAddMask),
			stderr: new StreamMasker(this.#options.masks, onAddMask)
		};
		this.#limit = new OutputLimit(this.#options.outputLimit);
		this.#backoff = new Backoff(DEFAULT_RETRY_FIRST_MS, this.#options.retryMaxMs);
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
	 * While a write is under way and a full write's worth waits behind it (or a backlog kept
	 * during an outage is being written): resolves when the reader may go on. Null when it may go
	 * on now.
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
		const ts = isoNow();
		const line: LogLine = { n: ++this.#count, stream, ts, text };
		if (partial) line.partial = true;
		this.#lastPartial = partial;
		if (this.#keeping && this.#unavailableSince !== null && this.#outageFull(text)) {
			this.#giveUp(
				`the database could not be reached and this task printed more meanwhile than aco keeps for it (${formatCount(this.#outage.maxLines)} lines or ${formatBytes(this.#outage.maxBytes)}); ${this.#keptPhrase()}`
			);
		}
		if (this.#keeping) {
			this.#buffer.push(line);
			this.#bufferBytes += text.length;
			this.#kept = line.n;
		}
		if (startsNewEvent(this.#live.length, this.#liveChars, text.length)) this.#publishLive();
		this.#live.push(toOutputLine(line));
		this.#liveChars += text.length;
		if (!this.#liveQueued) {
			this.#liveQueued = true;
			queueMicrotask(this.#publishQueued);
		}
		if (!partial) this.#command(text);
		if (!this.#keeping) return;
		if (this.#batchFull()) {
			// while a refused batch waits for its retry, nothing is written sooner
			if (!this.#retry) void this.#flush();
			// during an outage the tool runs on: what is kept is bounded by `storeOutage` instead
			if (this.#writing && this.#unavailableSince === null && this.#backlogFull()) this.#holdReader();
		} else {
			this.#schedule();
		}
	}

	#publishQueued = (): void => {
		this.#liveQueued = false;
		this.#publishLive();
	};

	/** publishes the lines not yet published, as one `tool.lines` event */
	#publishLive(): void {
		const lines = this.#live;
		if (lines.length === 0) return;
		this.#live = [];
		this.#liveChars = 0;
		const { bus, task_id, run_id, execution_id } = this.#options;
		publish(bus, 'tool.lines', { task_id, run_id, execution_id, lines }, lines[lines.length - 1]!.timestamp);
	}

	/** whether keeping one more line of `text` would pass what an outage may keep */
	#outageFull(text: string): boolean {
		return (
			this.#buffer.length + 1 > this.#outage.maxLines ||
			this.#bufferBytes + text.length > this.#outage.maxBytes
		);
	}

	/** enough waits to be written at once */
	#batchFull(): boolean {
		return (
			this.#buffer.length >= this.#options.maxBatchLines || this.#bufferBytes >= this.#options.maxBatchBytes
		);
	}

	/** a whole write's worth waits: the reader is held while a write is under way */
	#backlogFull(): boolean {
		return this.#buffer.length >= this.#maxWrite.lines || this.#bufferBytes >= this.#maxWrite.bytes;
	}

	/**
	 * The task is being interrupted (its node shuts down): a store that cannot be reached is no
	 * longer waited for, so `close()` ends after a few more attempts (reported as a store failure).
	 * Its retry timer is cleared here.
	 */
	stopWaitingForStore(): void {
		this.#waitForStore = false;
		const retry = this.#retry;
		if (!retry) return;
		this.#retry = null;
		clearTimeout(retry.timer);
		retry.resolve();
		void this.#flush();
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
		this.#publishLive();
		this.#closed = true;
		this.#clearTimer();
		while ((this.#buffer.length > 0 || this.#writeQueued || this.#retry) && !this.#failed) {
			if (this.#retry) await this.#retry.promise;
			else await this.#flush();
		}
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
		// what the command publishes comes after the lines before it, its own line included
		this.#publishLive();
		try {
			onCommand(command);
		} catch (err) {
			logger.warn({ err }, 'handling a workflow command failed');
		}
	}

	/**
	 * The first line of a batch waits at most `flushIntervalMs`: the write is due at the next
	 * multiple of it on the clock, so the pipelines with lines waiting write at about the same
	 * moment (in one loop turn, give or take the timers' millisecond), and SQLite commits their
	 * appends together (see store/sqlite-append-group).
	 */
	#schedule(): void {
		if (this.#timer || this.#writeQueued || this.#retry) return;
		const interval = this.#options.flushIntervalMs;
		this.#timer = setTimeout(
			() => {
				this.#timer = null;
				void this.#flush();
			},
			interval > 0 ? interval - (Date.now() % interval) : 0
		);
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

	/** one write; never rejects, so a queued write cannot end the process */
	async #write(): Promise<void> {
		try {
			await this.#writeBatch();
		} catch (err) {
			this.#options.logger.error(
				{ err, execution_id: this.#options.execution_id },
				'writing log lines failed'
			);
		}
	}

	/** the oldest write's worth of the buffer (at least one line); its cost is the batch's, not the backlog's */
	#takeBatch(): { batch: LogLine[]; batchBytes: number } {
		const { lines, bytes } = this.#maxWrite;
		const batch: LogLine[] = [];
		let batchBytes = 0;
		while (batch.length < lines && batchBytes < bytes) {
			const line = this.#buffer.shift();
			if (!line) break;
			batch.push(line);
			batchBytes += line.text.length;
		}
		this.#bufferBytes -= batchBytes;
		return { batch, batchBytes };
	}

	/** a batch the store refused goes back in front of newer lines: line numbers stay contiguous */
	#putBack(batch: LogLine[], batchBytes: number): void {
		for (let i = batch.length - 1; i >= 0; i--) this.#buffer.unshift(batch[i]);
		this.#bufferBytes += batchBytes;
	}

	async #writeBatch(): Promise<void> {
		this.#writeQueued = false;
		if (this.#buffer.length === 0 || this.#failed) return;
		const { batch, batchBytes } = this.#takeBatch();
		const { store, logger, execution_id, storage } = this.#options;
		this.#writing = true;
		// what waited is taken: the reader may fill the next write while this one is under way
		if (!this.#backlogFull()) this.#releaseReader();
		let stored = false;
		try {
			if (storage?.full) throw new DataFolderFullError();
			await store.appendLogLines(execution_id, batch);
			stored = true;
			this.#stored();
		} catch (err) {
			const full = storage ? storage.report(err) : isDiskFull(err);
			// an unreachable database is waited for, however long: the next attempt may well work
			const unavailable = !full && this.#waitForStore && isStoreUnavailable(err);
			if (!unavailable) this.#attempts++;
			if (!full && (unavailable || this.#attempts < MAX_WRITE_ATTEMPTS)) {
				this.#putBack(batch, batchBytes);
				if (unavailable) this.#unavailable(err);
				else logger.warn({ err, execution_id, lines: batch.length }, 'storing log lines failed; will retry');
				this.#retryAfter(unavailable ? this.#backoff.next() : this.#options.flushIntervalMs);
			} else {
				this.#fail(err, batch);
			}
		} finally {
			this.#writing = false;
		}
		if (this.#failed) return;
		if (stored) {
			// a backlog (a full batch, or lines kept through an outage) is written at once
			if (this.#buffer.length > 0 && (this.#batchFull() || this.#closed)) void this.#flush();
			else if (this.#buffer.length > 0) this.#schedule();
			if (!this.#backlogFull()) this.#releaseReader();
		} else if (this.#unavailableSince !== null || !this.#backlogFull()) {
			// an outage is ridden out with the tool running (bounded by `storeOutage`)
			this.#releaseReader();
		} else {
			this.#holdReader();
		}
	}

	/** waits `ms`, then writes again (close() waits along) */
	#retryAfter(ms: number): void {
		let resolve!: () => void;
		const promise = new Promise<void>((r) => (resolve = r));
		const timer = setTimeout(() => {
			this.#retry = null;
			resolve();
			void this.#flush();
		}, ms);
		timer.unref();
		this.#retry = { timer, promise, resolve };
	}

	/** the store could not be reached: said once per outage; past `storeOutage.maxMs` the task is given up */
	#unavailable(err: unknown): void {
		const { logger, execution_id } = this.#options;
		if (this.#unavailableSince === null) {
			this.#unavailableSince = Date.now();
			logger.warn(
				{ err, execution_id, lines: this.#buffer.length },
				'the database cannot be reached; log lines are kept and stored once it is back'
			);
		}
		const waited = Date.now() - this.#unavailableSince;
		if (this.#keeping && waited >= this.#outage.maxMs) {
			this.#giveUp(
				`the database could not be reached for ${formatSeconds(waited)}, longer than a running task waits (${formatSeconds(this.#outage.maxMs)}); ${this.#keptPhrase()}`
			);
		}
	}

	/**
	 * Nothing more is kept and the task is told (its tool is stopped), but what is kept is still
	 * written once the store is back: the stored log stays a gap-free prefix.
	 */
	#giveUp(message: string): void {
		const { logger, execution_id, onStoreFailure } = this.#options;
		this.#keeping = false;
		this.#releaseReader();
		logger.error({ execution_id, kept: this.#kept }, message);
		try {
			onStoreFailure?.(message, null);
		} catch (failure) {
			logger.warn({ err: failure }, 'handling a store failure failed');
		}
	}

	/** which lines end up stored after a give-up */
	#keptPhrase(): string {
		return this.#kept === 0
			? 'none of its lines are stored'
			: `lines 1 to ${formatCount(this.#kept)} are stored, later ones are not`;
	}

	#stored(): void {
		this.#attempts = 0;
		this.#backoff.reset();
		if (this.#unavailableSince === null) return;
		const { logger, execution_id } = this.#options;
		logger.info(
			{ execution_id, waited_ms: Date.now() - this.#unavailableSince },
			'the database is back; the kept log lines are stored'
		);
		this.#unavailableSince = null;
	}

	/** the store cannot take this log: nothing more is kept, and the task is told */
	#fail(err: unknown, batch: LogLine[]): void {
		const { logger, execution_id, onStoreFailure } = this.#options;
		const told = !this.#keeping;
		this.#failed = true;
		this.#keeping = false;
		this.#buffer.clear();
		this.#bufferBytes = 0;
		this.#clearTimer();
		if (this.#retry) {
			clearTimeout(this.#retry.timer);
			this.#retry.resolve();
			this.#retry = null;
		}
		this.#releaseReader();
		logger.error(
			{ err, execution_id, from: batch[0].n, to: batch[batch.length - 1].n },
			'storing log lines failed; no further output of this tool is stored'
		);
		if (told) return;
		try {
			onStoreFailure?.(describeStorageFailure(err), err);
		} catch (failure) {
			logger.warn({ err: failure }, 'handling a store failure failed');
		}
	}
}

/** 0.5 s, 90 s, 5 min */
function formatSeconds(ms: number): string {
	if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
	const seconds = Math.round(ms / 1000);
	return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

/** the reason no line is written while the disk guard says the data folder is full */
class DataFolderFullError extends Error {
	readonly code = 'ENOSPC';
	constructor() {
		super('no space left in the data folder');
	}
}

const ADD_MASK_REFUSED = `::warning::A value announced with ::add-mask:: was not added: this task already masks the most values aco keeps (${formatCount(DEFAULT_MAX_MASK_VALUES)}); it is not masked.`;
