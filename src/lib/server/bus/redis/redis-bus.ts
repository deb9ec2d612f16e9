/**
 * @module bus/redis/redis-bus
 * The event bus shared by every node through Redis (`ACO_REDIS_URL`): what any node publishes
 * is numbered once, in one stream, and read by every node in the same order. It composes a
 * publisher (its own connection), a reader (a connection blocked in XREAD), the shared history
 * and a trimmer, and says how Redis is doing.
 *
 * @example
 * const bus = await connectRedisBus({ url, logger, history: { maxEvents: 10_000, maxAgeMs, maxBytes } });
 * bus.stream.listen({ event: (n) => …, reset: (to, missed) => … });
 * bus.publish(event);
 * await bus.close();
 */
import { randomBytes } from 'node:crypto';
import type { RedisStatus } from '../../../protocol/api';
import type { AnyDomainEvent } from '../../../protocol/events';
import type { Logger } from '../../logger';
import { redactUrl } from '../../redact-url';
import type { BusListener, EventBus } from '../types';
import { createClient, describeError } from './client';
import type { NumberedEvent } from './codec';
import { NodeFigures, type NodeFiguresEntry } from './node-figures';
import { SharedHistory, type HistoryPage, type HistoryPageRequest } from './history';
import { StreamPublisher } from './publisher';
import { StreamReader, type StreamListener, type StreamPosition } from './reader';
import { defineScripts, streamKeys, type ScriptedRedis, type StreamKeys } from './scripts';

export const DEFAULT_PREFIX = 'aco:';
/** How often a node applies the history's age and byte bounds. */
export const TRIM_EVERY_MS = 5_000;
/** How long `connectRedisBus` waits for Redis before the node starts without it (it keeps trying). */
export const DEFAULT_STARTUP_WAIT_MS = 5_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export interface RedisBusOptions {
	url: string;
	/** key prefix, so several aco clusters can share one Redis */
	prefix?: string;
	/** names this node's connections in Redis's CLIENT LIST */
	nodeId?: string;
	history: { maxEvents: number; maxBytes: number; maxAgeMs: number };
	bufferMaxEvents?: number;
	bufferMaxBytes?: number;
	blockMs?: number;
	startupWaitMs?: number;
	/** a publish or history read without a reply within this time fails (settled later) */
	commandTimeoutMs?: number;
	logger: Logger;
}

/** How Redis is doing, as this node sees it (the protocol's `RedisStatus`). */
export type RedisHealth = RedisStatus;

/** What the hub hears from the shared stream. */
export interface SharedStreamListener {
	event(numbered: NumberedEvent): void;
	reset: StreamListener['reset'];
}

/** The shared stream as the hub sees it: numbered events, position resets, history pages. */
export interface SharedStream {
	readonly position: StreamPosition;
	/** one listener (the hub); returns the function that stops it */
	listen(listener: SharedStreamListener): () => void;
	/** history after a seq, up to this node's position (see SharedHistory.page) */
	page(request: HistoryPageRequest): Promise<HistoryPage | null>;
	/** true once this node has delivered `seq` of its epoch; false after `timeoutMs` */
	caughtUp(seq: number, timeoutMs: number): Promise<boolean>;
	/** the oldest seq the stream held when last looked at (every few seconds); null before */
	readonly oldestSeq: number | null;
}

export function newEpoch(): string {
	return randomBytes(9).toString('base64url');
}

export class RedisBus implements EventBus {
	readonly stream: SharedStream;
	#options: RedisBusOptions;
	#publishClient: ScriptedRedis;
	#readClient: ScriptedRedis;
	#publisher: StreamPublisher;
	#reader: StreamReader;
	#history: SharedHistory;
	#listener: SharedStreamListener | null = null;
	#plain = new Set<BusListener>();
	#status: RedisStatus['status'] = 'down';
	#since = new Date();
	#lastError: string | null = null;
	#trimTimer: NodeJS.Timeout;
	#oldestSeq: number | null = null;
	#figures: NodeFigures<unknown> | null = null;
	#nodeId: string;
	#keys: StreamKeys;
	#closing: Promise<void> | null = null;

	constructor(options: RedisBusOptions) {
		this.#options = options;
		const { logger } = options;
		const keys = streamKeys(options.prefix ?? DEFAULT_PREFIX);
		this.#keys = keys;
		this.#nodeId = options.nodeId ?? `node-${randomBytes(3).toString('hex')}`;
		const name = `aco:${this.#nodeId}`;
		this.#publishClient = defineScripts(
			createClient({
				url: options.url,
				name: `${name}:publish`,
				commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
			})
		);
		this.#readClient = defineScripts(createClient({ url: options.url, name: `${name}:read` }));
		for (const client of [this.#publishClient, this.#readClient]) {
			// without a listener ioredis would print every failed reconnect; the status says it once
			client.on('error', (err: Error) => this.#onError(err));
			client.on('ready', () => this.#onStatus());
			client.on('close', () => this.#onStatus());
		}
		this.#history = new SharedHistory(this.#publishClient, keys);
		this.#reader = new StreamReader({
			client: this.#readClient,
			keys,
			provisionalEpoch: newEpoch(),
			newEpoch,
			blockMs: options.blockMs,
			logger: logger.child({ part: 'redis-reader' }),
			listener: {
				event: (numbered, publisher) => this.#onEvent(numbered, publisher),
				reset: (to, missed, reason) => this.#listener?.reset(to, missed, reason)
			}
		});
		this.#publisher = new StreamPublisher({
			client: this.#publishClient,
			keys,
			maxEntries: Math.max(1, options.history.maxEvents),
			bufferMaxEvents: options.bufferMaxEvents,
			bufferMaxBytes: options.bufferMaxBytes,
			newEpoch,
			known: () => ({ ...this.#reader.position, attached: this.#reader.attached }),
			readerAttached: this.#reader.attachedOnce,
			logger: logger.child({ part: 'redis-publisher' })
		});
		const reader = this.#reader;
		const oldest = () => this.#oldestSeq;
		this.stream = {
			get position() {
				return reader.position;
			},
			get oldestSeq() {
				return oldest();
			},
			listen: (listener) => {
				this.#listener = listener;
				return () => {
					if (this.#listener === listener) this.#listener = null;
				};
			},
			page: (request) => this.#history.page(request),
			caughtUp: (seq, timeoutMs) => reader.caughtUp(seq, timeoutMs)
		};
		this.#trimTimer = setInterval(() => void this.#trim(), TRIM_EVERY_MS);
		this.#trimTimer.unref();
	}

	/** Connects and starts reading; gives Redis `startupWaitMs` to answer, then goes on without it. */
	async start(): Promise<void> {
		const { logger } = this.#options;
		// a failed first connect is retried by ioredis (retryStrategy); nothing else to do with it here
		this.#publishClient.connect().catch(() => {});
		this.#readClient.connect().catch(() => {});
		this.#reader.start();
		let timer: NodeJS.Timeout | undefined;
		await Promise.race([
			this.#reader.attachedOnce,
			new Promise<void>((resolve) => {
				timer = setTimeout(resolve, this.#options.startupWaitMs ?? DEFAULT_STARTUP_WAIT_MS);
				timer.unref();
			})
		]);
		clearTimeout(timer);
		if (this.#reader.attached) await this.#trim();
		else {
			logger.warn(
				{ redis: redactUrl(this.#options.url), error: this.#lastError },
				'Redis not reachable yet: the node starts without live fan-out between nodes and keeps trying'
			);
		}
	}

	publish(event: AnyDomainEvent): void {
		this.#publisher.publish(event);
		this.#toPlain(event);
	}

	/**
	 * Plain events, un-numbered, for listeners that do not need the position (the orchestrator):
	 * this node's own at once, as the in-process bus would (so they do not wait on, or stop
	 * with, Redis), and every other node's as they arrive.
	 */
	subscribe(listener: BusListener): () => void {
		this.#plain.add(listener);
		return () => this.#plain.delete(listener);
	}

	/** Resolves once everything this node published is in Redis (tests, shutdown). */
	flushed(): Promise<void> {
		return this.#publisher.idle();
	}

	/** Shares this node's figures with the cluster every `everyMs` (see node-figures.ts). */
	shareFigures(collect: () => unknown, everyMs?: number): void {
		void this.#figures?.close();
		this.#figures = new NodeFigures({
			client: this.#publishClient,
			keys: this.#keys,
			nodeId: this.#nodeId,
			collect,
			everyMs,
			logger: this.#options.logger
		});
		this.#figures.start();
	}

	/** Every live node's latest shared figures (empty when none are shared); rejects when Redis is down. */
	async clusterFigures<T>(): Promise<NodeFiguresEntry<T>[]> {
		if (!this.#figures) return [];
		await this.#figures.write();
		return (await this.#figures.read()) as NodeFiguresEntry<T>[];
	}

	get nodeId(): string {
		return this.#nodeId;
	}

	health(): RedisHealth {
		const position = this.#reader.position;
		return {
			status: this.#status,
			since: this.#since.toISOString(),
			address: redactUrl(this.#options.url),
			last_error: this.#lastError,
			epoch: position.epoch,
			seq: position.seq,
			attached: this.#reader.attached,
			publisher: this.#publisher.figures(),
			reader: this.#reader.figures()
		};
	}

	close(): Promise<void> {
		this.#closing ??= (async () => {
			clearInterval(this.#trimTimer);
			await this.#figures?.close();
			await this.#publisher.close();
			await this.#reader.close();
			this.#publishClient.disconnect();
			this.#listener = null;
			this.#plain.clear();
		})();
		return this.#closing;
	}

	#onEvent(numbered: NumberedEvent, publisher: string): void {
		this.#listener?.event(numbered);
		if (publisher !== this.#publisher.id) this.#toPlain(numbered.event);
	}

	#toPlain(event: AnyDomainEvent): void {
		for (const listener of this.#plain) {
			try {
				listener(event);
			} catch (err) {
				this.#options.logger.error({ err }, 'bus listener failed');
			}
		}
	}

	#onError(err: Error): void {
		const message = describeError(err);
		if (message !== this.#lastError) {
			this.#options.logger.warn(
				{ err: message, redis: redactUrl(this.#options.url) },
				'Redis connection error'
			);
		}
		this.#lastError = message;
	}

	#onStatus(): void {
		const up = this.#publishClient.status === 'ready' && this.#readClient.status === 'ready';
		const status: RedisStatus['status'] = up ? 'up' : 'down';
		// the node closing its own connections is not Redis going away
		if (status === this.#status || this.#closing) return;
		this.#status = status;
		this.#since = new Date();
		const log = this.#options.logger;
		if (up)
			log.info({ redis: redactUrl(this.#options.url) }, 'Redis reachable: live fan-out between nodes on');
		else
			log.warn(
				{ redis: redactUrl(this.#options.url) },
				'Redis unreachable: live fan-out between nodes paused'
			);
	}

	/** Applies the age and byte bounds and notes where the stream now begins. */
	async #trim(): Promise<void> {
		const { maxAgeMs, maxBytes } = this.#options.history;
		if (this.#publishClient.status !== 'ready') return;
		try {
			if (maxAgeMs > 0 || maxBytes > 0) await this.#history.trim(maxAgeMs, maxBytes);
			this.#oldestSeq = await this.#history.oldestSeq();
		} catch (err) {
			this.#onError(err as Error);
		}
	}
}

/** Builds the bus and starts it (waiting briefly for Redis). */
export async function connectRedisBus(options: RedisBusOptions): Promise<RedisBus> {
	const bus = new RedisBus(options);
	await bus.start();
	return bus;
}
