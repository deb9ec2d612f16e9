/**
 * @module auth/session-relay
 * Tells the other nodes of a cluster that a browser session ended on this one (sign-out, a new
 * sign-in replacing it), through Redis pub/sub, so they close its WebSockets at once rather than
 * at their next check of open sessions against the store (`ACO_SESSION_CHECK_MS`). What is sent
 * is what the store holds anyway: the session's stored id (a SHA-256 of the cookie) and why it
 * ended. Best effort by design: an announcement made while Redis is away is lost, and that check
 * still closes the sockets in time; the sign-out itself never waits for Redis.
 *
 * @example
 * const relay = await connectSessionRelay({ url, prefix: 'aco:', nodeId, logger });
 * relay.onEnded((sessionId, reason) => closeItsSockets(sessionId, reason)); // ended on other nodes
 * relay.announce(sessionId, 'signed out'); // ended here
 * await relay.close();
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createClient, describeError, warnConnectionErrors, whenReady } from '../bus/redis/client';
import type { Logger } from '../logger';
import type { SessionEndedListener, SessionRelay } from './sessions';

/** How long connecting waits for Redis before the node starts without it (it keeps trying). */
export const DEFAULT_RELAY_STARTUP_WAIT_MS = 5_000;
/** An announcement without a reply within this time is given up (the session check remains). */
const PUBLISH_TIMEOUT_MS = 2_000;
/** Longest reason passed on: the close frame's reason has 123 bytes at most anyway. */
const MAX_REASON_LENGTH = 200;

export interface SessionRelayOptions {
	url: string;
	/** the cluster's key prefix (ACO_REDIS_PREFIX) */
	prefix: string;
	/** names this node's connections in Redis's CLIENT LIST */
	nodeId: string;
	logger: Logger;
	startupWaitMs?: number;
}

interface Announcement {
	/** the announcing relay (random per process: two nodes given one ACO_NODE_ID still hear each other) */
	from: string;
	session: string;
	reason: string;
}

class RedisSessionRelay implements SessionRelay {
	#options: SessionRelayOptions;
	#channel: string;
	/** this relay's own announcements are not heard back */
	#self = randomUUID();
	#publisher: Redis;
	#subscriber: Redis;
	#listeners = new Set<SessionEndedListener>();
	#closing: Promise<void> | null = null;

	constructor(options: SessionRelayOptions) {
		this.#options = options;
		this.#channel = `${options.prefix}sessions:ended`;
		this.#publisher = createClient({
			url: options.url,
			name: `aco:${options.nodeId}:sessions`,
			commandTimeoutMs: PUBLISH_TIMEOUT_MS
		});
		this.#subscriber = createClient({ url: options.url, name: `aco:${options.nodeId}:sessions-sub` });
		const warn = warnConnectionErrors([this.#publisher, this.#subscriber], options.logger, 'ended sessions');
		// (again) after each reconnect: a subscription made while Redis was away failed
		this.#subscriber.on('ready', () => {
			this.#subscriber.subscribe(this.#channel).catch(warn);
		});
		this.#subscriber.on('message', (channel: string, text: string) => {
			if (channel === this.#channel) this.#heard(text);
		});
	}

	/** Connects both clients; waits up to `startupWaitMs` for Redis, then goes on (they keep trying). */
	async start(): Promise<void> {
		const wait = AbortSignal.timeout(this.#options.startupWaitMs ?? DEFAULT_RELAY_STARTUP_WAIT_MS);
		await Promise.all(
			[this.#publisher, this.#subscriber].map((client) => {
				client.connect().catch(() => {});
				return whenReady(client, wait);
			})
		);
	}

	announce(sessionId: string, reason: string): void {
		if (this.#closing) return;
		const announcement: Announcement = { from: this.#self, session: sessionId, reason };
		this.#publisher.publish(this.#channel, JSON.stringify(announcement)).catch((err: unknown) => {
			this.#options.logger.warn(
				{ err: describeError(err) },
				'could not tell the other nodes that a session ended (they close its sockets at their next session check)'
			);
		});
	}

	onEnded(listener: SessionEndedListener): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	close(): Promise<void> {
		// at once: announcements are best effort, and a QUIT a frozen Redis never answers would hold
		// the node's shutdown up
		this.#closing ??= (async () => {
			this.#listeners.clear();
			this.#publisher.disconnect();
			this.#subscriber.disconnect();
		})();
		return this.#closing;
	}

	#heard(text: string): void {
		const announcement = parseAnnouncement(text);
		if (!announcement) {
			this.#options.logger.warn('ignored a malformed session announcement from Redis');
			return;
		}
		if (announcement.from === this.#self) return;
		for (const listener of this.#listeners) {
			try {
				listener(announcement.session, announcement.reason);
			} catch (err) {
				this.#options.logger.warn({ err }, 'a listener failed on a session ended on another node');
			}
		}
	}
}

/** The announcement in a message, or null when it is not one (anything may be published there). */
function parseAnnouncement(text: string): Announcement | null {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		return null;
	}
	if (typeof value !== 'object' || value === null) return null;
	const { from, session, reason } = value as Record<string, unknown>;
	if (typeof from !== 'string' || typeof session !== 'string' || typeof reason !== 'string') return null;
	if (!/^[0-9a-f]{64}$/.test(session)) return null;
	return { from, session, reason: reason.slice(0, MAX_REASON_LENGTH) };
}

/** The relay on the cluster's Redis, connected (or still trying after `startupWaitMs`). */
export async function connectSessionRelay(
	options: SessionRelayOptions
): Promise<SessionRelay & { close(): Promise<void> }> {
	const relay = new RedisSessionRelay(options);
	await relay.start();
	return relay;
}
