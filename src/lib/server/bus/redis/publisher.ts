/**
 * @module bus/redis/publisher
 * Appends this node's events to the shared stream, in the order they were published. Events
 * published in one loop turn go in one script call (one round trip, consecutive seqs); one call
 * is in flight at a time, so order holds across reconnects.
 *
 * Outage: while Redis cannot be reached, events wait in a bounded buffer and go out, in order,
 * once it is back. A call whose reply was lost is settled by reading the publisher's ack key
 * (applied → done; not applied → sent again), so no event is numbered twice or silently
 * skipped. When the buffer overflows, what it held is dropped (it is stored in the database)
 * and, before anything newer, the epoch is bumped: every client of every node then resets and
 * reloads, so the loss is never a silent gap.
 */
import type { RedisStatus } from '../../../protocol/api';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../logger';
import type { AnyDomainEvent } from '../../../protocol/events';
import { describeError, pause, whenReady } from './client';
import { encodePayload, PAYLOAD_SEPARATOR } from './codec';
import { MAX_EVENTS_PER_ENTRY, type ScriptedRedis, type StreamKeys } from './scripts';

export const DEFAULT_BUFFER_MAX_EVENTS = 100_000;
export const DEFAULT_BUFFER_MAX_BYTES = 64 * 1024 * 1024;
/** Events and payload bytes per script call (one stream entry). */
export const BATCH_MAX_EVENTS = MAX_EVENTS_PER_ENTRY;
export const BATCH_MAX_BYTES = 1024 * 1024;
/** How long a publisher's ack key outlives its last batch (it only settles a lost reply). */
const ACK_TTL_S = 3_600;
/** Pause after Redis refused a batch (out of memory, say) before trying again. */
const REFUSED_RETRY_MS = 500;

export interface PublisherOptions {
	client: ScriptedRedis;
	keys: StreamKeys;
	/** entries the stream keeps at least (`MAXLEN ~`) */
	maxEntries: number;
	bufferMaxEvents?: number;
	bufferMaxBytes?: number;
	/** a fresh epoch, used if this call opens or bumps one */
	newEpoch: () => string;
	/** the position this node's reader has reached: the epoch a loss is reported against */
	known: () => { epoch: string; seq: number; attached: boolean };
	/**
	 * resolves when this node's reader first reached Redis: nothing is sent before, or the reader
	 * would start after this node's own first events and its clients would not see them live
	 */
	readerAttached: Promise<void>;
	logger: Logger;
}

/** what health() shows of the publisher (protocol/api.ts RedisStatus) */
export type PublisherFigures = RedisStatus['publisher'];

interface Pending {
	payload: string;
}

interface Batch {
	id: string;
	items: Pending[];
}

export class StreamPublisher {
	#options: PublisherOptions;
	#maxEvents: number;
	#maxBytes: number;
	/** a deque: pending items are #queue[#head..] */
	#queue: Pending[] = [];
	#head = 0;
	#queuedBytes = 0;
	/** a batch whose reply was lost: applied or not is read from the ack key before anything else */
	#unsettled: Batch | null = null;
	/** events were dropped; the epoch must be bumped before anything newer goes out */
	#lostSince: { epoch: string; seq: number } | null = null;
	#pumping = false;
	#scheduled = false;
	#closed = false;
	#abort = new AbortController();
	readonly #publisherId = randomBytes(8).toString('base64url');
	#figures = { published: 0, batches: 0, lost: 0, epochBumps: 0, lastError: null as string | null };
	#idle: (() => void)[] = [];

	constructor(options: PublisherOptions) {
		this.#options = options;
		this.#maxEvents = options.bufferMaxEvents ?? DEFAULT_BUFFER_MAX_EVENTS;
		this.#maxBytes = options.bufferMaxBytes ?? DEFAULT_BUFFER_MAX_BYTES;
		options.client.on('ready', this.#onReady);
	}

	/** names this publisher's entries in the stream (a node skips its own when it already had them) */
	get id(): string {
		return this.#publisherId;
	}

	get buffered(): number {
		return this.#queue.length - this.#head;
	}

	publish(event: AnyDomainEvent): void {
		if (this.#closed) return;
		const payload = encodePayload(event);
		if (this.buffered + 1 > this.#maxEvents || this.#queuedBytes + payload.length > this.#maxBytes) {
			this.#overflow();
		}
		this.#queue.push({ payload });
		this.#queuedBytes += payload.length;
		this.#schedule();
	}

	figures(): PublisherFigures {
		return {
			published: this.#figures.published,
			batches: this.#figures.batches,
			buffered: this.buffered,
			buffered_bytes: this.#queuedBytes,
			lost: this.#figures.lost,
			epoch_bumps: this.#figures.epochBumps,
			last_error: this.#figures.lastError
		};
	}

	/** Resolves once nothing is buffered or in flight (or at once when closed). */
	idle(): Promise<void> {
		if (this.#closed || (this.buffered === 0 && !this.#pumping && !this.#unsettled)) return Promise.resolve();
		return new Promise((resolve) => this.#idle.push(resolve));
	}

	/** Tries for up to `graceMs` to send what is buffered, then stops; idempotent. */
	async close(graceMs = 1_000): Promise<void> {
		if (this.#closed) return;
		if (this.buffered > 0 && this.#options.client.status === 'ready') {
			let timer: NodeJS.Timeout | undefined;
			await Promise.race([
				this.idle(),
				new Promise<void>((resolve) => {
					timer = setTimeout(resolve, graceMs);
					timer.unref();
				})
			]);
			clearTimeout(timer);
		}
		this.#closed = true;
		this.#abort.abort();
		this.#options.client.off('ready', this.#onReady);
		if (this.buffered > 0) {
			this.#options.logger.warn({ events: this.buffered }, 'events not published to Redis at shutdown');
		}
		this.#notifyIdle();
	}

	#onReady = () => this.#schedule();

	#schedule(): void {
		if (this.#scheduled || this.#pumping || this.#closed) return;
		this.#scheduled = true;
		// one turn's events go together: a pipe read or an ingest request publishes many at once
		setImmediate(() => {
			this.#scheduled = false;
			void this.#pump();
		});
	}

	/** Drops what is buffered (it is in the database) and remembers to bump the epoch. */
	#overflow(): void {
		const dropped = this.buffered;
		const known = this.#options.known();
		// a node that never reached Redis reports against whatever epoch Redis has
		this.#lostSince ??= { epoch: known.attached ? known.epoch : '*', seq: known.seq };
		this.#figures.lost += dropped;
		this.#queue = [];
		this.#head = 0;
		this.#queuedBytes = 0;
		this.#options.logger.error(
			{ dropped, max_events: this.#maxEvents, max_bytes: this.#maxBytes },
			'Redis unreachable too long: events dropped from the publish buffer; clients will reset and reload'
		);
	}

	async #pump(): Promise<void> {
		if (this.#pumping) return;
		this.#pumping = true;
		const { client, logger } = this.#options;
		try {
			while (!this.#closed && (this.buffered > 0 || this.#unsettled || this.#lostSince)) {
				if (client.status !== 'ready' && !(await whenReady(client, this.#abort.signal))) break;
				if (!this.#options.known().attached && !(await this.#readerAttached())) break;
				try {
					if (this.#unsettled) await this.#settle(this.#unsettled);
					else if (this.#lostSince) await this.#bump(this.#lostSince);
					else await this.#send(this.#take());
				} catch (err) {
					this.#figures.lastError = describeError(err);
					if (client.status === 'ready') {
						// Redis answered with an error: nothing was applied; wait, then try again
						logger.warn({ err: this.#figures.lastError }, 'Redis refused a publish; retrying');
						await pause(REFUSED_RETRY_MS, this.#abort.signal);
					}
				}
			}
		} finally {
			this.#pumping = false;
			if (this.buffered === 0 && !this.#unsettled) this.#notifyIdle();
			else if (!this.#closed && client.status === 'ready') this.#schedule();
		}
	}

	#take(): Batch {
		const items: Pending[] = [];
		let bytes = 0;
		while (this.#head < this.#queue.length && items.length < BATCH_MAX_EVENTS) {
			const item = this.#queue[this.#head]!;
			if (items.length > 0 && bytes + item.payload.length > BATCH_MAX_BYTES) break;
			items.push(item);
			bytes += item.payload.length;
			this.#head += 1;
		}
		this.#queuedBytes -= bytes;
		if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
			this.#queue = this.#queue.slice(this.#head);
			this.#head = 0;
		}
		return { id: randomBytes(6).toString('base64url'), items };
	}

	/** Puts a batch back at the head of the queue (it was not applied). */
	#putBack(batch: Batch): void {
		this.#queue = [...batch.items, ...this.#queue.slice(this.#head)];
		this.#head = 0;
		for (const item of batch.items) this.#queuedBytes += item.payload.length;
	}

	async #send(batch: Batch): Promise<void> {
		const { client, keys, maxEntries, newEpoch, known, logger } = this.#options;
		const position = known();
		let reply: [string, number, number];
		try {
			reply = await client.acoPublish(
				keys.meta,
				keys.stream,
				keys.ack(this.#publisherId),
				newEpoch(),
				maxEntries,
				batch.id,
				ACK_TTL_S,
				position.attached ? position.epoch : '',
				position.seq,
				batch.items.length,
				batch.items.map((item) => item.payload).join(PAYLOAD_SEPARATOR),
				this.#publisherId
			);
		} catch (err) {
			// Sent and unanswered (connection lost, timeout): settle it from the ack key once back.
			// Refused by Redis or never written: it was not applied.
			if (isUnanswered(err)) this.#unsettled = batch;
			else this.#putBack(batch);
			throw err;
		}
		if (reply[1] === 0) {
			// Redis's seq went back below what this node delivered: bump first, then send again
			logger.warn(
				{ epoch: reply[0], redis_seq: reply[2], node_seq: position.seq },
				'Redis came back with older data'
			);
			this.#putBack(batch);
			this.#lostSince = { epoch: reply[0], seq: position.seq };
			return;
		}
		this.#figures.published += batch.items.length;
		this.#figures.batches += 1;
	}

	async #settle(batch: Batch): Promise<void> {
		const ack = await this.#options.client.get(this.#options.keys.ack(this.#publisherId));
		this.#unsettled = null;
		if (ack?.split(' ')[0] === batch.id) {
			this.#figures.published += batch.items.length;
			this.#figures.batches += 1;
		} else {
			this.#putBack(batch);
		}
	}

	async #bump(since: { epoch: string; seq: number }): Promise<void> {
		const { client, keys, newEpoch, logger } = this.#options;
		const [epoch, seq] = await client.acoBump(keys.meta, keys.stream, since.epoch, newEpoch(), since.seq);
		this.#lostSince = null;
		this.#figures.epochBumps += 1;
		logger.warn({ epoch, seq }, 'epoch bumped after events could not be published');
	}

	/** false when closed first */
	#readerAttached(): Promise<boolean> {
		const signal = this.#abort.signal;
		return new Promise((resolve) => {
			const onAbort = () => resolve(false);
			signal.addEventListener('abort', onAbort, { once: true });
			void this.#options.readerAttached.then(() => {
				signal.removeEventListener('abort', onAbort);
				resolve(!signal.aborted);
			});
		});
	}

	#notifyIdle(): void {
		for (const resolve of this.#idle.splice(0)) resolve();
	}
}

/**
 * Whether a failed call may have been applied. ioredis refuses a call on a connection that is
 * not writable before sending it ("…enableOfflineQueue…"); Redis's own errors are ReplyErrors.
 */
function isUnanswered(err: unknown): boolean {
	if (!(err instanceof Error)) return true;
	if (err.name === 'ReplyError') return false;
	return !/enableOfflineQueue|isn't writeable/i.test(err.message);
}
