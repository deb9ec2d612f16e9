/**
 * @module protocol/close-codes
 * Every WebSocket close code aco uses, with what it means and whether a client should
 * reconnect. 4000–4499: reconnect (with backoff); 4500–4999: do not reconnect.
 * Clients read how to come back off this table (`retry`), so a new code is one new row.
 */

/**
 * How a client comes back after a close it may reconnect from:
 * - `backoff` (the default): exponential backoff with full jitter;
 * - `soon`: the server is restarting or going away and will be back shortly — quick retries,
 *   jittered over a couple of seconds so a thousand clients do not arrive at once;
 * - `now`: at once, resuming from the last seq (the server dropped a reader it wants back);
 * - `slow`: back off for at least the client's slow-down delay (it was too much for the server).
 */
export type CloseRetry = 'backoff' | 'soon' | 'now' | 'slow';

export interface CloseCodeInfo {
	code: number;
	name: string;
	reconnect: boolean;
	description: string;
	/** how to come back when `reconnect` is true; `backoff` when missing */
	retry?: CloseRetry;
}

export const CloseCode = {
	NORMAL: 1000,
	GOING_AWAY: 1001,
	POLICY: 1008,
	TOO_BIG: 1009,
	INTERNAL: 1011,
	RESTART: 1012,
	OVERLOADED: 1013,
	IDLE_TIMEOUT: 4000,
	PING_TIMEOUT: 4001,
	SLOW_CONSUMER: 4002,
	RATE_LIMITED: 4003,
	TOO_MANY_ATTEMPTS: 4004,
	UNAUTHORIZED: 4500,
	FORBIDDEN_ORIGIN: 4501,
	PROTOCOL_VIOLATION: 4502,
	SESSION_ENDED: 4503,
	FORBIDDEN: 4504,
	/**
	 * Never sent: the terminal client closes with it when the upgrade is refused with an HTTP
	 * status that asking again will not change (404: a wrong base path, a proxy that does not pass
	 * WebSocket upgrades on). A browser cannot see an upgrade's status and never meets it.
	 */
	NO_HUB: 4505
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

export const CLOSE_CODES: Record<number, CloseCodeInfo> = {
	1000: {
		code: 1000,
		name: 'normal',
		reconnect: false,
		description: 'The connection was closed on purpose.'
	},
	1001: {
		code: 1001,
		name: 'going_away',
		reconnect: true,
		description: 'The server is shutting down; reconnect with backoff.',
		retry: 'soon'
	},
	1006: {
		code: 1006,
		name: 'abnormal',
		reconnect: true,
		description: 'The connection dropped without a close frame.'
	},
	1008: { code: 1008, name: 'policy', reconnect: false, description: 'A policy was violated.' },
	1009: {
		code: 1009,
		name: 'too_big',
		reconnect: true,
		description: 'A frame was larger than the server accepts.'
	},
	1011: { code: 1011, name: 'internal', reconnect: true, description: 'The server hit an unexpected error.' },
	1012: {
		code: 1012,
		name: 'restart',
		reconnect: true,
		description: 'The server is restarting.',
		retry: 'soon'
	},
	1013: {
		code: 1013,
		name: 'overloaded',
		reconnect: true,
		description: 'The server is at its connection limit; try again later.',
		retry: 'slow'
	},
	4000: {
		code: 4000,
		name: 'idle_timeout',
		reconnect: true,
		description: 'No heartbeat arrived within the idle timeout.'
	},
	4001: {
		code: 4001,
		name: 'ping_timeout',
		reconnect: true,
		description: 'The connection did not answer a ping (half-open TCP).'
	},
	4002: {
		code: 4002,
		name: 'slow_consumer',
		reconnect: true,
		description: 'The client read too slowly; reconnect and resume from the last seq.',
		retry: 'now'
	},
	4003: {
		code: 4003,
		name: 'rate_limited',
		reconnect: true,
		description: 'The client sent too many messages; reconnect after backing off.',
		retry: 'slow'
	},
	4004: {
		code: 4004,
		name: 'too_many_attempts',
		reconnect: true,
		description:
			'Too many wrong tokens came from the client\'s address (auth/attempt-limit); reconnect after backing off, with a right token.',
		retry: 'slow'
	},
	4500: {
		code: 4500,
		name: 'unauthorized',
		reconnect: false,
		description: 'Valid credentials are required: a token, or a browser signed in.'
	},
	4501: {
		code: 4501,
		name: 'forbidden_origin',
		reconnect: false,
		description: 'The page origin is not allowed.'
	},
	4502: {
		code: 4502,
		name: 'protocol_violation',
		reconnect: false,
		description: 'The client does not speak this protocol version.'
	},
	4503: {
		code: 4503,
		name: 'session_ended',
		reconnect: false,
		description: 'The sign-in session expired or was signed out; sign in again.'
	},
	4504: {
		code: 4504,
		name: 'forbidden',
		reconnect: false,
		description: 'The credentials are valid but their role may not do this (an operator token is needed).'
	},
	4505: {
		code: 4505,
		name: 'no_hub',
		reconnect: false,
		description:
			'No aco hub answers at this address (the WebSocket upgrade was refused, e.g. HTTP 404); check the server URL.'
	}
};

/** Whether a client should reconnect after a close with this code. Unknown codes: by range. */
export function shouldReconnect(code: number): boolean {
	const info = CLOSE_CODES[code];
	if (info) return info.reconnect;
	if (code >= 4000 && code < 4500) return true;
	if (code >= 4500 && code < 5000) return false;
	return true;
}

/** How a client comes back after a close with this code (see {@link CloseRetry}); null: it does not. */
export function closeRetry(code: number): CloseRetry | null {
	if (!shouldReconnect(code)) return null;
	return CLOSE_CODES[code]?.retry ?? 'backoff';
}
