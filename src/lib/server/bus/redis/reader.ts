/**
 * @module bus/redis/reader
 * Follows the shared stream for this node: XREAD BLOCK on its own connection (like Socket.IO's
 * Redis streams adapter), in seq order, from where it left off. Every entry reaches the node
 * once; the node's clients get what they subscribed to.
 *
 * The position it delivers is never silently wrong:
 * - an entry of another epoch (Redis lost its data, or a node bumped the epoch after losing
 *   events) → `reset` to that epoch, then the new epoch's events;
 * - a jump in seq within an epoch (the stream was trimmed past this reader) → `reset` with
 *   the count missed;
 * - after every reconnect, and now and then while idle, the reader checks Redis's epoch and
 *   seq (`attach`): missing data opens a new epoch; a seq that went back (an older snapshot was
 *   restored) bumps the epoch, since its seqs would otherwise be numbered twice.
 * - older data may come back with its seq already past this node's again: a node whose reader
 *   was behind published over seqs this node delivered. So the reader remembers the entry it
 *   delivered its newest seq from, and bumps the epoch when Redis holds another entry there (at
 *   `attach`) or when it reads an entry of its epoch starting at a seq it already delivered.
 *   An entry trimmed away is no sign of that: trimming only ever drops the oldest.
 */
import type { RedisStatus } from '../../../protocol/api';
import type { Logger } from '../../logger';
import { describeError, pause, whenReady } from './client';
import { decodeEntry, parseEntry, type NumberedEvent, type StreamEntry } from './codec';
import type { AttachState, ScriptedRedis, StreamKeys } from './scripts';

export const DEFAULT_BLOCK_MS = 2_000;
/** stream entries per read; each holds up to MAX_EVENTS_PER_ENTRY events */
export const DEFAULT_READ_COUNT = 20;
/** Check Redis's epoch at least this often while entries keep coming (FLUSHALL under load). */
export const VERIFY_EVERY_MS = 5_000;
/** Pause after Redis answered a read with an error before reading again. */
const ERROR_RETRY_MS = 500;

export interface StreamPosition {
	epoch: string;
	/** the newest seq this node has delivered (0 before any) */
	seq: number;
}

export interface StreamListener {
	/** `publisher`: the id of the publisher that appended it (see StreamPublisher.id) */
	event(numbered: NumberedEvent, publisher: string): void;
	/**
	 * The stream moved to `to` with events this node did not deliver (`missed`, null when
	 * unknown): clients on this node must reset and reload.
	 */
	reset(to: StreamPosition, missed: number | null, reason: string): void;
}

export const RESET_REASONS = {
	attached: 'this node joined the shared stream',
	epoch: 'the shared event stream began a new epoch (Redis lost data, or a node could not publish)',
	gap: 'events were trimmed from the shared stream before this node read them',
	rewound: 'Redis came back with older data than this node had seen'
} as const;

export interface ReaderOptions {
	client: ScriptedRedis;
	keys: StreamKeys;
	listener: StreamListener;
	/** the epoch this node shows until it first reaches Redis */
	provisionalEpoch: string;
	newEpoch: () => string;
	blockMs?: number;
	readCount?: number;
	logger: Logger;
}

/** what health() shows of the reader (protocol/api.ts RedisStatus) */
export type ReaderFigures = RedisStatus['reader'];

interface Waiter {
	seq: number;
	resolve: (reached: boolean) => void;
}

export class StreamReader {
	#options: ReaderOptions;
	#position: StreamPosition;
	#attached = false;
	#everAttached = false;
	/** where the next XREAD starts (may be behind #position after an epoch change) */
	#lastId = '0';
	/** the entry #position.seq was delivered from (`entryMark`); null when Redis kept none */
	#held: string | null = null;
	/** an entry numbered seqs of this epoch that this node had already delivered */
	#renumbered = false;
	#lastVerify = 0;
	#running: Promise<void> | null = null;
	#abort = new AbortController();
	#waiters: Waiter[] = [];
	#figures = { read: 0, resets: 0, corrupt: 0, lastError: null as string | null };
	#onAttached!: () => void;
	/** resolves when the reader first reaches Redis */
	readonly attachedOnce: Promise<void> = new Promise((resolve) => (this.#onAttached = resolve));

	constructor(options: ReaderOptions) {
		this.#options = options;
		this.#position = { epoch: options.provisionalEpoch, seq: 0 };
	}

	get position(): StreamPosition {
		return this.#position;
	}

	/** whether the position is Redis's (the reader has attached at least once) */
	get attached(): boolean {
		return this.#everAttached;
	}

	start(): void {
		this.#running ??= this.#loop();
	}

	/** Resolves true once this node has delivered `seq` of its current epoch, false after `timeoutMs`. */
	caughtUp(seq: number, timeoutMs: number): Promise<boolean> {
		if (this.#position.seq >= seq) return Promise.resolve(true);
		return new Promise((resolve) => {
			const waiter: Waiter = { seq, resolve };
			const timer = setTimeout(() => {
				this.#waiters = this.#waiters.filter((w) => w !== waiter);
				resolve(false);
			}, timeoutMs);
			timer.unref();
			waiter.resolve = (reached) => {
				clearTimeout(timer);
				resolve(reached);
			};
			this.#waiters.push(waiter);
		});
	}

	figures(): ReaderFigures {
		return {
			attached: this.#attached,
			epoch: this.#position.epoch,
			seq: this.#position.seq,
			read: this.#figures.read,
			resets: this.#figures.resets,
			corrupt: this.#figures.corrupt,
			last_error: this.#figures.lastError
		};
	}

	/** Stops reading (the blocked XREAD ends when the connection closes); idempotent. */
	async close(): Promise<void> {
		this.#abort.abort();
		this.#options.client.disconnect();
		await this.#running;
		for (const waiter of this.#waiters.splice(0)) waiter.resolve(false);
	}

	async #loop(): Promise<void> {
		const { client, logger } = this.#options;
		const signal = this.#abort.signal;
		while (!signal.aborted) {
			if (client.status !== 'ready' && !(await whenReady(client, signal))) break;
			try {
				if (!this.#attached || Date.now() - this.#lastVerify > VERIFY_EVERY_MS) await this.#attach();
				const reply = (await client.xread(
					'COUNT',
					this.#options.readCount ?? DEFAULT_READ_COUNT,
					'BLOCK',
					this.#options.blockMs ?? DEFAULT_BLOCK_MS,
					'STREAMS',
					this.#options.keys.stream,
					this.#lastId
				)) as [string, [string, string[]][]][] | null;
				if (signal.aborted) break;
				if (reply) this.#deliver(reply[0]![1]);
				// idle: make sure Redis's epoch is still ours (a FLUSHALL gives no other sign)
				else this.#lastVerify = 0;
			} catch (err) {
				if (signal.aborted) break;
				this.#figures.lastError = describeError(err);
				if (this.#attached) logger.warn({ err: this.#figures.lastError }, 'shared stream read failed');
				this.#attached = false;
				if (client.status === 'ready') await pause(ERROR_RETRY_MS, signal);
			}
		}
	}

	/** Learns Redis's epoch and seq and decides where to read from. */
	async #attach(): Promise<void> {
		const { client, keys, newEpoch, logger } = this.#options;
		// the entry Redis holds where this node's position is (Redis's newest seq before it has one)
		const reply: AttachState = await client.acoAttach(
			keys.meta,
			keys.stream,
			newEpoch(),
			this.#everAttached ? this.#position.seq : 0
		);
		let [epoch, seq, since] = reply;
		const held = reply[3] ? entryMark(parseEntry(reply[3])) : null;
		this.#lastVerify = Date.now();
		if (!this.#everAttached) {
			// start live from Redis's newest seq; clients that connected meanwhile reset to it
			this.#everAttached = true;
			this.#attached = true;
			this.#lastId = String(seq);
			this.#held = held;
			this.#moveTo({ epoch, seq }, null, 'attached');
			logger.info({ epoch, seq }, 'joined the shared event stream');
			this.#onAttached();
			return;
		}
		// (an entry gone is trimmed; another entry there numbered our seqs again)
		const renumbered = this.#renumbered || (held !== null && held !== this.#held);
		if (epoch === this.#position.epoch && (seq < this.#position.seq || renumbered)) {
			// reusing seqs we already delivered would hand clients different events under one number
			[epoch, seq, since] = await client.acoBump(
				keys.meta,
				keys.stream,
				epoch,
				newEpoch(),
				this.#position.seq
			);
			logger.warn({ epoch, seq, renumbered }, 'Redis came back with older data; epoch bumped');
		}
		if (epoch !== this.#position.epoch) {
			this.#renumbered = false;
			// the new epoch's marker (or its first entry still kept) makes the switch
			this.#lastId = String(since - 1);
		}
		if (!this.#attached)
			logger.info({ epoch, seq, at: this.#position.seq }, 'shared event stream reattached');
		this.#attached = true;
	}

	#deliver(raw: [string, string[]][]): void {
		const { listener, logger } = this.#options;
		for (const item of raw) {
			const entry = parseEntry(item);
			const end = entry.seq + entry.count - 1;
			this.#figures.read += entry.count;
			this.#lastId = String(entry.seq);
			if (entry.epoch !== this.#position.epoch) {
				const at = entry.payload === null ? entry.seq : entry.seq - 1;
				this.#moveTo({ epoch: entry.epoch, seq: at }, null, 'epoch');
			} else if (entry.seq <= this.#position.seq) {
				// never in one epoch of an intact stream: Redis went back and a node that was behind
				// published over seqs delivered here. Read no further until #attach ended the epoch.
				this.#renumbered = true;
				this.#lastVerify = 0;
				break;
			} else if (entry.seq > this.#position.seq + 1) {
				const missed = entry.seq - 1 - this.#position.seq;
				this.#moveTo({ epoch: entry.epoch, seq: entry.seq - 1 }, missed, 'gap');
			}
			const { events, corrupt } = decodeEntry(entry, Math.max(entry.seq, this.#position.seq + 1));
			if (corrupt > 0) {
				// a corrupt event still takes its seq: skipping it must not look like a gap
				this.#figures.corrupt += corrupt;
				logger.error(
					{ seq: entry.seq, count: entry.count, corrupt },
					'skipped stream events that are not events'
				);
			}
			for (const numbered of events) {
				this.#position = { epoch: entry.epoch, seq: numbered.seq };
				try {
					listener.event(numbered, entry.publisher);
				} catch (err) {
					logger.error({ err, seq: numbered.seq }, 'stream listener failed');
				}
			}
			this.#position = { epoch: entry.epoch, seq: end };
			this.#held = entryMark(entry);
		}
		this.#wake();
	}

	#moveTo(to: StreamPosition, missed: number | null, reason: keyof typeof RESET_REASONS): void {
		this.#position = to;
		// joining the stream is where a node starts, not the stream moving on under it
		if (reason !== 'attached') this.#figures.resets += 1;
		this.#options.logger.warn({ ...to, missed, reason }, 'shared event stream position reset');
		try {
			this.#options.listener.reset(to, missed, RESET_REASONS[reason]);
		} catch (err) {
			this.#options.logger.error({ err }, 'stream listener failed on reset');
		}
		// waiters of the old epoch will never see their seq
		for (const waiter of this.#waiters.splice(0)) waiter.resolve(false);
	}

	#wake(): void {
		if (this.#waiters.length === 0) return;
		const seq = this.#position.seq;
		const still: Waiter[] = [];
		for (const waiter of this.#waiters) {
			if (waiter.seq <= seq) waiter.resolve(true);
			else still.push(waiter);
		}
		this.#waiters = still;
	}
}

/** Which entry this is: a seq numbered again comes in an entry of another publisher or time. */
function entryMark(entry: StreamEntry): string {
	return `${entry.seq}+${entry.count} ${entry.time} ${entry.publisher}`;
}
