/**
 * @module hub/hub-error
 * The hub's one error class. Each error carries a machine `code` (sent to the client in an
 * `error` reply), the close code to use when the error ends the connection (null when the
 * connection stays usable), whether retrying the same thing can succeed, and its cause.
 */
import { CloseCode } from '../../protocol/close-codes';
import type { ErrorData } from '../../protocol/messages';

export interface HubErrorOptions {
	/** close code when this error ends the connection; null when the connection stays open */
	closeCode?: number | null;
	retryable?: boolean;
	cause?: unknown;
}

export class HubError extends Error {
	readonly code: string;
	readonly closeCode: number | null;
	readonly retryable: boolean;

	constructor(code: string, message: string, options: HubErrorOptions = {}) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.name = 'HubError';
		this.code = code;
		this.closeCode = options.closeCode ?? null;
		this.retryable = options.retryable ?? false;
	}

	/** The payload of the `error` control message that reports this error to a client. */
	toErrorData(ref?: string): ErrorData {
		return { code: this.code, message: this.message, retryable: this.retryable, ...(ref ? { ref } : {}) };
	}

	/** Wraps a validation failure from `parseClientMessage`; the connection stays usable. */
	static fromErrorData(data: ErrorData): HubError {
		return new HubError(data.code, data.message, { retryable: data.retryable });
	}

	static binaryFrame(): HubError {
		return new HubError(
			'binary_not_supported',
			'Binary frames are not part of the protocol. Send each message as a JSON text frame.'
		);
	}

	static tooManySubscriptions(max: number): HubError {
		return new HubError(
			'too_many_subscriptions',
			`This connection already holds ${max} subscriptions, the most allowed. ` +
				'Unsubscribe one, reuse a subscription id to replace its filter, or merge filters.'
		);
	}

	static tooManyFilterIds(max: number): HubError {
		return new HubError(
			'too_many_filter_ids',
			`This connection's subscriptions would list more than ${max} task ids, run ids, types and ` +
				'statuses together, the most allowed. Subscribe to a run or to types instead of many ' +
				'tasks, or unsubscribe what is no longer watched.'
		);
	}

	static unknownSubscription(sub: string, held: readonly string[]): HubError {
		const list = held.length ? held.map((s) => JSON.stringify(s)).join(', ') : 'none';
		return new HubError(
			'unknown_subscription',
			`There is no subscription ${JSON.stringify(sub)} on this connection (held: ${list}). ` +
				'Unsubscribe with an id that `subscribed` returned, or omit "sub" to remove all.'
		);
	}

	static overCapacity(max: number, retryAfterS: number): HubError {
		return new HubError(
			'over_capacity',
			`The server holds its maximum of ${max} WebSocket connections. Retry in ${retryAfterS} s.`,
			{ closeCode: CloseCode.OVERLOADED, retryable: true }
		);
	}

	static tooManyFromAddress(max: number, retryAfterS: number): HubError {
		return new HubError(
			'too_many_connections_from_address',
			`This address already holds ${max} WebSocket connections, the most allowed per address. ` +
				`Close unused tabs or clients, or retry in ${retryAfterS} s.`,
			{ closeCode: CloseCode.OVERLOADED, retryable: true }
		);
	}

	static shuttingDown(): HubError {
		return new HubError(
			'shutting_down',
			'The server is shutting down and accepts no new connections. Reconnect with backoff.',
			{ closeCode: CloseCode.GOING_AWAY, retryable: true }
		);
	}

	static rateLimited(perSecond: number): HubError {
		return new HubError(
			'rate_limited',
			`Too many messages: this connection may send ${perSecond} per second. Messages beyond that are ignored, ` +
				'and a client that keeps sending them is disconnected with 4003. Slow down.',
			{ closeCode: null, retryable: true }
		);
	}

	static internal(cause: unknown): HubError {
		return new HubError(
			'internal',
			'The server failed to handle this message; it has been logged. Retry, and report it if it persists.',
			{ closeCode: null, retryable: true, cause }
		);
	}
}
