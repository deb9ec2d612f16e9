/**
 * @module realtime/close-policy
 * What a client does after the hub closes the socket, read off the close-code table in
 * protocol/close-codes (its `retry` column): stop (4500–4999 and the other "do not reconnect"
 * codes), come back at once (4002, the server dropped a slow reader that should resume right
 * away), come back soon (1012 restart, 1001 going away: quick retries jittered over a couple of
 * seconds), or back off — longer after a close that says "you are too much" (4003 rate-limited,
 * 1013 overloaded). A code added to the table with a `retry` needs no change here.
 * Also the sentence an indicator shows for a close.
 */
import { CLOSE_CODES, closeRetry } from '../protocol/close-codes';
import type { DelayWindow } from './retry-schedule';

/** The least wait after a close that asks the client to slow down (4003, 1013). */
export const DEFAULT_SLOW_DOWN_DELAY_MS = 5_000;
/** After a restart close, retries wait a delay from this window… */
export const DEFAULT_RESTART_DELAY: DelayWindow = { minMs: 250, maxMs: 2_000 };
/** …for this long after the close; then the usual backoff takes over. */
export const DEFAULT_RESTART_WINDOW_MS = 30_000;

export type ReconnectPlan =
	| { action: 'stop' }
	/** reconnect without waiting */
	| { action: 'now' }
	/** the server will be back shortly: retry after a short jittered delay for a while */
	| { action: 'soon' }
	/** reconnect after the backoff's delay, and at least `minDelayMs` */
	| { action: 'backoff'; minDelayMs: number };

export interface ClosePolicyOptions {
	/** attempts since the last good connection (0: the connection that closed had stayed up) */
	attempt: number;
	slowDownDelayMs?: number;
}

/**
 * The plan for a close with `code`. A slow-consumer close reconnects at once only when the
 * connection before it had stayed up: a client that is closed as slow again straight away
 * would otherwise reconnect in a tight loop, so it backs off like any other failure.
 */
export function reconnectPlan(code: number, options: ClosePolicyOptions): ReconnectPlan {
	switch (closeRetry(code)) {
		case null:
			return { action: 'stop' };
		case 'now':
			return options.attempt === 0 ? { action: 'now' } : { action: 'backoff', minDelayMs: 0 };
		case 'soon':
			return { action: 'soon' };
		case 'slow':
			return { action: 'backoff', minDelayMs: options.slowDownDelayMs ?? DEFAULT_SLOW_DOWN_DELAY_MS };
		default:
			return { action: 'backoff', minDelayMs: 0 };
	}
}

/**
 * Why the server closed, for people: the server's reason when it gave one, else the table's
 * description of the code, with the code for reference (e.g. in a bug report).
 * @example closeExplanation({ code: 4501, reason: '' }) // 'The page origin is not allowed. (code 4501)'
 */
export function closeExplanation(close: { code: number; reason: string }): string {
	const text = close.reason.trim() || CLOSE_CODES[close.code]?.description || 'No reason was given.';
	return `${text.replace(/[.\s]*$/, '')}. (code ${close.code})`;
}
