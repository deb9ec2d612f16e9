/**
 * @module cli/realtime/client
 * The terminal's one WebSocket to the hub: the shared socket lifecycle (connection-core, the
 * same module the browser uses) on a Node `ws` socket, with the terminal's defaults — quicker
 * first retries, close reasons spelled out from the close-code table. It connects, re-sends its
 * subscriptions and resumes from the last seq behind a resume gate after every reconnect, beats
 * at the interval the welcome names, reconnects as the close code says, and tells its owner when
 * what it loaded over REST may be stale (`onResync`), so the owner reloads a snapshot.
 */
import { CLOSE_CODES, CloseCode } from '../../lib/protocol/close-codes';
import type { AnyControlMessage, AnyEventEnvelope, EventFilter } from '../../lib/protocol/messages';
import type { BackoffOptions } from '../../lib/realtime/backoff';
import { HubConnection } from '../../lib/realtime/connection-core';
import type { ConnectionState, ResyncReason, SubscribeOptions } from '../../lib/realtime/connection-types';
import { secondsUntil } from '../../lib/realtime/retry-schedule';
import type { TokenSource } from '../args';
import { tokenOrigin } from '../credentials';
import { createWsSocket, hubUrl, type SocketFactory } from './socket';

export { DEFAULT_STABLE_AFTER_MS, DEFAULT_WELCOME_TIMEOUT_MS } from '../../lib/realtime/reconnecting-socket';
export type { ResyncReason } from '../../lib/realtime/connection-types';

/** Terminal clients retry sooner than browsers: a person is watching the screen. */
export const DEFAULT_CLI_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 5_000 };

export type ClientState = ConnectionState;
/** why the state is 'offline': the server said stop, the attempts ran out, or destroy() */
export type OfflineReason = 'closed' | 'gave_up' | 'destroyed' | 'network';

export interface CloseInfo {
	code: number;
	reason: string;
	/** what the close code means, from the shared table */
	description: string;
}

export interface RealtimeClientOptions {
	/** the server's address (http://host:port) or the hub's (ws://host:port/ws) */
	url: string;
	token?: string;
	/** where `token` came from, named when the hub refuses it */
	tokenSource?: TokenSource;
	createSocket?: SocketFactory;
	backoff?: BackoffOptions;
	welcomeTimeoutMs?: number;
	stableAfterMs?: number;
	resumeTimeoutMs?: number;
	/** the least wait after a close that asks the client to slow down (4003, 4004, 1013) */
	slowDownDelayMs?: number;
	now?: () => number;
}

export class RealtimeClient {
	readonly url: string;
	readonly #core: HubConnection;
	readonly #now: () => number;
	readonly #given: Pick<RealtimeClientOptions, 'token' | 'tokenSource'>;

	constructor(options: RealtimeClientOptions) {
		this.url = hubUrl(options.url);
		this.#given = { token: options.token, tokenSource: options.tokenSource };
		this.#now = options.now ?? (() => Date.now());
		this.#core = new HubConnection({
			url: this.url,
			createSocket: options.createSocket ?? ((url) => createWsSocket(url, options.token)),
			backoff: { ...DEFAULT_CLI_BACKOFF, ...options.backoff },
			welcomeTimeoutMs: options.welcomeTimeoutMs,
			stableAfterMs: options.stableAfterMs,
			resumeTimeoutMs: options.resumeTimeoutMs,
			slowDownDelayMs: options.slowDownDelayMs,
			now: this.#now
		});
	}

	// ---------- state ----------

	get state(): ClientState {
		return this.#core.state;
	}
	get offlineReason(): OfflineReason | null {
		return this.#core.offlineReason;
	}
	get lastClose(): CloseInfo | null {
		const close = this.#core.lastClose;
		if (!close) return null;
		return { ...close, description: CLOSE_CODES[close.code]?.description ?? 'The connection closed.' };
	}
	/**
	 * Why the client went offline, as the one line a command ends with: for an address with no
	 * hub (an upgrade refused with a 404 or the like) the URL to check, else the close spelled out.
	 */
	get offlineMessage(): string {
		const close = this.lastClose;
		if (close?.code === CloseCode.NO_HUB) {
			return `${close.reason || `no aco WebSocket at ${this.url}`}: check --url`;
		}
		const text = `the server closed the connection: ${close?.description ?? 'unknown reason'} (${close?.code ?? '?'})`;
		// a token refused: which one, so that a stale one `aco login` kept is found
		const origin = close?.code === CloseCode.UNAUTHORIZED ? tokenOrigin(this.url, this.#given) : null;
		return origin ? `${text}. ${origin}` : text;
	}
	/** reconnect attempts since the last good connection */
	get attempt(): number {
		return this.#core.attempt;
	}
	get hasConnected(): boolean {
		return this.#core.hasConnected;
	}
	/** whole seconds until the next attempt (rounded up), while one is scheduled */
	get secondsUntilRetry(): number | null {
		return secondsUntil(this.#core.nextRetryAt, this.#now());
	}
	get epoch(): string | null {
		return this.#core.epoch;
	}
	get seq(): number {
		return this.#core.seq;
	}

	// ---------- actions ----------

	/** Opens the socket (once); later calls do nothing. */
	connect(): void {
		this.#core.connect();
	}

	/** Adds or replaces a subscription; it is re-sent after every reconnect. */
	subscribe(sub: string, filter: EventFilter = {}, options: SubscribeOptions = {}): void {
		this.#core.subscribe(sub, filter, options);
	}

	unsubscribe(sub: string): void {
		this.#core.unsubscribe(sub);
	}

	/** Every event, batches unpacked, replays de-duplicated. Returns the function that removes it. */
	onEvent(handler: (event: AnyEventEnvelope) => void): () => void {
		return this.#core.onEvent(handler);
	}
	onControl(handler: (message: AnyControlMessage) => void): () => void {
		return this.#core.onControl(handler);
	}
	/** Called when what the owner loaded may be stale; see {@link ResyncReason}. */
	onResync(handler: (reason: ResyncReason) => void): () => void {
		return this.#core.onResync((reason) => handler(reason));
	}
	onStateChange(handler: (state: ClientState, previous: ClientState) => void): () => void {
		return this.#core.onStateChange(handler);
	}

	/** Closes the socket and stops every timer; the instance is done. Idempotent. */
	destroy(): void {
		this.#core.destroy();
	}
}
