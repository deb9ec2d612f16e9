/**
 * @module realtime/test-socket
 * A scripted stand-in for the browser WebSocket, for specs of the connection and the stores:
 * records what the client sent and lets a test play the server's part.
 */
import type { AnyEventEnvelope, ClientMessage, EventFilter, WelcomeData } from '$lib/protocol';
import type { WebSocketLike } from './connection.svelte';

export class FakeSocket implements WebSocketLike {
	readyState = 0;
	onopen: ((ev: unknown) => void) | null = null;
	onclose: ((ev: { code: number; reason: string }) => void) | null = null;
	onmessage: ((ev: { data: unknown }) => void) | null = null;
	onerror: ((ev: unknown) => void) | null = null;
	readonly sent: ClientMessage[] = [];
	closedWith: { code?: number; reason?: string } | null = null;

	constructor(readonly url: string) {}

	send(data: string): void {
		this.sent.push(JSON.parse(data) as ClientMessage);
	}

	close(code?: number, reason?: string): void {
		this.closedWith = { code, reason };
		this.readyState = 3;
	}

	// ---------- the server's side ----------

	open(): void {
		this.readyState = 1;
		this.onopen?.({});
	}

	welcome(data: Partial<WelcomeData> = {}): void {
		this.receive({
			type: 'welcome',
			timestamp: new Date().toISOString(),
			data: {
				client_id: 'c1',
				epoch: 'e1',
				seq: 0,
				protocol: 1,
				heartbeat_interval_ms: 30_000,
				idle_timeout_ms: 120_000,
				limits: { max_message_bytes: 65536, max_subscriptions: 32 },
				...data
			}
		});
	}

	receive(message: unknown): void {
		this.onmessage?.({ data: JSON.stringify(message) });
	}

	event(event: Omit<AnyEventEnvelope, 'timestamp'> & { timestamp?: string }): void {
		this.receive({ timestamp: new Date().toISOString(), ...event });
	}

	/** the hub replayed the gap (the replayed events are sent before, with {@link event}) */
	resumed(replayed = 0, ref?: string): void {
		this.receive({ type: 'resumed', timestamp: new Date().toISOString(), data: { replayed, ref } });
	}

	/** the hub could not replay the gap: reload over REST */
	reset(data: { missed?: number | null; epoch?: string; seq?: number; reason?: string } = {}): void {
		this.receive({
			type: 'reset',
			timestamp: new Date().toISOString(),
			data: { missed: null, epoch: 'e1', seq: 0, reason: 'history not available', ...data }
		});
	}

	/** backpressure dropped events for this client */
	dropped(count: number, from_seq: number, to_seq: number): void {
		this.receive({ type: 'dropped', timestamp: new Date().toISOString(), data: { count, from_seq, to_seq } });
	}

	/** the server (or the network) closes the connection */
	serverClose(code = 1006, reason = ''): void {
		this.readyState = 3;
		this.onclose?.({ code, reason });
	}

	sentOfType<T extends ClientMessage['type']>(type: T): Extract<ClientMessage, { type: T }>[] {
		return this.sent.filter((m): m is Extract<ClientMessage, { type: T }> => m.type === type);
	}
}

/**
 * Plays the hub's part for subscriptions on a fake socket: answers the subscribes and
 * unsubscribes sent since the last call, in order, as the hub does — a subscribe with the id of
 * one it holds replaces that one's filter, a new one past `maxSubscriptions` is refused with
 * `too_many_subscriptions` naming the message's id.
 */
export class FakeHubSubscriptions {
	readonly held = new Map<string, EventFilter>();
	#answered = 0;

	constructor(
		readonly socket: FakeSocket,
		readonly maxSubscriptions = 32
	) {}

	/** Answers up to `count` subscribes (every one sent so far by default). */
	answer(count = Number.POSITIVE_INFINITY): void {
		const { sent } = this.socket;
		let left = count;
		while (this.#answered < sent.length && left > 0) {
			const message = sent[this.#answered++]!;
			if (message.type === 'unsubscribe' && message.sub !== undefined) this.held.delete(message.sub);
			if (message.type !== 'subscribe') continue;
			left--;
			const ref = message.id === undefined ? {} : { ref: message.id };
			if (!this.held.has(message.sub) && this.held.size >= this.maxSubscriptions) {
				this.socket.receive({
					type: 'error',
					timestamp: new Date().toISOString(),
					data: {
						code: 'too_many_subscriptions',
						message: `This connection already holds ${this.maxSubscriptions} subscriptions, the most allowed.`,
						retryable: false,
						...ref
					}
				});
				continue;
			}
			this.held.set(message.sub, message.filter);
			this.socket.receive({
				type: 'subscribed',
				timestamp: new Date().toISOString(),
				data: { id: message.sub, filter: message.filter, ...ref }
			});
		}
	}
}

/** A socket factory that keeps every socket it made, newest last. */
export function socketFactory() {
	const sockets: FakeSocket[] = [];
	return {
		sockets,
		create: (url: string) => {
			const socket = new FakeSocket(url);
			sockets.push(socket);
			return socket;
		},
		get last(): FakeSocket {
			const socket = sockets.at(-1);
			if (!socket) throw new Error('no socket was created');
			return socket;
		}
	};
}
