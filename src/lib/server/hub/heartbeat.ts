/**
 * @module hub/heartbeat
 * Liveness for every session from one hub-wide timer. Two checks, because they catch
 * different failures:
 * - idle: the client sends `connection.heartbeat` every heartbeat interval; a client that
 *   sent nothing for `idleTimeoutMs` is closed with 4000 (its page froze or its code broke).
 * - ping: every heartbeat interval the server pings; a socket that has not answered the
 *   previous ping is closed with 4001. Pongs come from the client's WebSocket stack, not its
 *   code, so this catches half-open TCP; ws's `closeTimeout` destroys such a socket when the
 *   close frame gets no answer either.
 * One timer sweeping all sessions is cheaper than a timer per session at 1000 clients.
 */
import { CloseCode } from '../../protocol/close-codes';
import type { Logger } from '../logger';
import type { SessionState } from './session';

/** Bounds of the sweep period, which follows the shortest configured interval. */
export const MIN_SWEEP_INTERVAL_MS = 10;
export const MAX_SWEEP_INTERVAL_MS = 1_000;

/** What the heartbeat needs from a session. */
export interface LivenessTarget {
	readonly id: string;
	readonly state: SessionState;
	readonly lastSeenAt: number;
	readonly awaitingPong: boolean;
	ping(): void;
	close(code: number, reason: string): void;
}

export interface HeartbeatOptions {
	sessions: () => Iterable<LivenessTarget>;
	heartbeatIntervalMs: number;
	idleTimeoutMs: number;
	logger: Logger;
	now?: () => number;
}

/** How often to sweep: a quarter of the shortest interval, within bounds, so a close is at most that late. */
export function sweepIntervalMs(heartbeatIntervalMs: number, idleTimeoutMs: number): number {
	const quarter = Math.floor(Math.min(heartbeatIntervalMs, idleTimeoutMs) / 4);
	return Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(MIN_SWEEP_INTERVAL_MS, quarter));
}

export class Heartbeat {
	#options: HeartbeatOptions;
	#now: () => number;
	#timer: NodeJS.Timeout | null = null;
	#lastPingAt: number;

	constructor(options: HeartbeatOptions) {
		this.#options = options;
		this.#now = options.now ?? Date.now;
		this.#lastPingAt = this.#now();
	}

	get running(): boolean {
		return this.#timer !== null;
	}

	start(): void {
		if (this.#timer) return;
		const period = sweepIntervalMs(this.#options.heartbeatIntervalMs, this.#options.idleTimeoutMs);
		this.#lastPingAt = this.#now();
		this.#timer = setInterval(() => this.sweep(), period);
		this.#timer.unref();
	}

	stop(): void {
		if (!this.#timer) return;
		clearInterval(this.#timer);
		this.#timer = null;
	}

	/** One pass over all sessions; returns how many were closed as idle or unresponsive. */
	sweep(now = this.#now()): { idle: number; unresponsive: number } {
		const { heartbeatIntervalMs, idleTimeoutMs, logger } = this.#options;
		const pingRound = now - this.#lastPingAt >= heartbeatIntervalMs;
		if (pingRound) this.#lastPingAt = now;
		let idle = 0;
		let unresponsive = 0;
		for (const session of this.#options.sessions()) {
			if (session.state !== 'open') continue;
			const silentMs = now - session.lastSeenAt;
			if (silentMs >= idleTimeoutMs) {
				idle += 1;
				logger.info({ client_id: session.id, silent_ms: silentMs }, 'closing idle connection');
				session.close(
					CloseCode.IDLE_TIMEOUT,
					`no message for ${silentMs} ms (idle timeout ${idleTimeoutMs} ms); send connection.heartbeat`
				);
				continue;
			}
			if (!pingRound) continue;
			if (session.awaitingPong) {
				unresponsive += 1;
				logger.info({ client_id: session.id }, 'closing connection that did not answer a ping');
				session.close(CloseCode.PING_TIMEOUT, 'no pong to the previous ping');
				continue;
			}
			session.ping();
		}
		return { idle, unresponsive };
	}
}
