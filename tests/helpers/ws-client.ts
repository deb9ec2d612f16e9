/**
 * @module tests/helpers/ws-client
 * A WebSocket client for tests: collects every frame the server sends (unpacking batches into
 * `messages`, keeping the frames as sent in `frames`), waits for the next
 * one matching a predicate (frames that arrived before the wait are found too), sends
 * requests and awaits their replies, and waits for the close code. Plus `upgradeRequest` for
 * upgrades that are expected to be refused, where the HTTP status and body matter.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import WebSocket, { type ClientOptions, type RawData } from 'ws';
import type { BatchMessage, ServerMessage } from '../../src/lib/protocol/messages';

export const DEFAULT_WAIT_MS = 2_000;

export interface CloseInfo {
	code: number;
	reason: string;
}

export type MessagePredicate = (message: ServerMessage) => boolean;

/** A server frame with a `data.ref` (control replies to a message that carried an `id`). */
function refOf(message: ServerMessage): string | undefined {
	const data = (message as { data?: { ref?: unknown } }).data;
	return typeof data?.ref === 'string' ? data.ref : undefined;
}

export class TestClient {
	readonly ws: WebSocket;
	/** every message in arrival order, the events of a `batch` frame unpacked one by one */
	readonly messages: ServerMessage[] = [];
	/** every parsed frame as it came, batches included */
	readonly frames: ServerMessage[] = [];
	/** frames that were not JSON (the server should never send one) */
	readonly invalidFrames: string[] = [];
	#cursor = 0;
	#listeners = new Set<() => void>();
	#closed: Promise<CloseInfo>;
	#requestCount = 0;

	constructor(ws: WebSocket) {
		this.ws = ws;
		ws.on('message', (data: RawData, isBinary: boolean) => {
			const text = isBinary ? `<binary ${rawLength(data)} bytes>` : data.toString();
			try {
				const frame = JSON.parse(text) as ServerMessage;
				this.frames.push(frame);
				if (frame.type === 'batch') this.messages.push(...(frame as BatchMessage).events);
				else this.messages.push(frame);
			} catch {
				this.invalidFrames.push(text);
			}
			for (const listener of [...this.#listeners]) listener();
		});
		// Tests provoke errors on purpose (oversized frames); they show up as close codes.
		ws.on('error', () => {});
		this.#closed = new Promise((resolve) => {
			ws.once('close', (code: number, reason: Buffer) => {
				resolve({ code, reason: reason.toString() });
				for (const listener of [...this.#listeners]) listener();
			});
		});
	}

	get isOpen(): boolean {
		return this.ws.readyState === WebSocket.OPEN;
	}

	/**
	 * The next frame after the previous match that satisfies `predicate` (any frame if omitted).
	 * Frames passed over are skipped for later calls too; `messages` still holds them.
	 * Waits running at once share that cursor, so wait for one thing at a time per client.
	 */
	next<T extends ServerMessage = ServerMessage>(
		predicate: MessagePredicate = () => true,
		timeoutMs = DEFAULT_WAIT_MS
	): Promise<T> {
		return this.#nextWithSkipped<T>(predicate, timeoutMs).then(([message]) => message);
	}

	/** The next frame of the given type. */
	nextOfType<T extends ServerMessage = ServerMessage>(type: string, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
		return this.next<T>((m) => m.type === type, timeoutMs);
	}

	/** Sends a JSON message (objects are stringified, strings go as they are). */
	send(message: unknown): void {
		this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
	}

	/** Sends a raw frame, text or binary. */
	sendRaw(data: string | Buffer, options: { binary?: boolean } = {}): void {
		this.ws.send(data, { binary: options.binary ?? false });
	}

	/** Sends `message` with a fresh `id` and resolves with the reply that carries it as `ref`. */
	request<T extends ServerMessage = ServerMessage>(
		message: Record<string, unknown>,
		timeoutMs = DEFAULT_WAIT_MS
	): Promise<T> {
		this.#requestCount += 1;
		const id = `req-${this.#requestCount}`;
		const reply = this.next<T>((m) => refOf(m) === id, timeoutMs);
		this.send({ ...message, id });
		return reply;
	}

	/**
	 * A barrier: sends a heartbeat and waits for its reply. The server answers in order, so
	 * every frame it sent before the reply has arrived; returns those passed over since the
	 * previous match (the reply itself excluded).
	 */
	async sync(timeoutMs = DEFAULT_WAIT_MS): Promise<ServerMessage[]> {
		this.#requestCount += 1;
		const id = `sync-${this.#requestCount}`;
		const pending = this.#nextWithSkipped(
			(m) => m.type === 'connection.heartbeat' && refOf(m) === id,
			timeoutMs
		);
		this.send({ type: 'connection.heartbeat', id });
		const [, skipped] = await pending;
		return skipped;
	}

	/** Resolves with the close code and reason once the connection has closed. */
	waitForClose(timeoutMs = DEFAULT_WAIT_MS): Promise<CloseInfo> {
		return withTimeout(this.#closed, timeoutMs, () => `no close within ${timeoutMs} ms`);
	}

	/** Closes from the client side and waits for the handshake to finish. */
	close(code = 1000, reason = ''): Promise<CloseInfo> {
		if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
			this.ws.close(code, reason);
		}
		return this.waitForClose();
	}

	terminate(): void {
		this.ws.terminate();
	}

	#nextWithSkipped<T extends ServerMessage>(
		predicate: MessagePredicate,
		timeoutMs: number
	): Promise<[T, ServerMessage[]]> {
		return new Promise((resolve, reject) => {
			const start = this.#cursor;
			const check = () => {
				for (let i = this.#cursor; i < this.messages.length; i += 1) {
					const message = this.messages[i]!;
					if (predicate(message)) {
						const skipped = this.messages.slice(start, i);
						this.#cursor = i + 1;
						done();
						resolve([message as T, skipped]);
						return;
					}
				}
				if (this.ws.readyState === WebSocket.CLOSED) {
					done();
					reject(new Error(`connection closed while waiting; received: ${this.#describe(start)}`));
				}
			};
			const done = () => {
				clearTimeout(timer);
				this.#listeners.delete(check);
			};
			const timer = setTimeout(() => {
				done();
				reject(new Error(`no matching message within ${timeoutMs} ms; received: ${this.#describe(start)}`));
			}, timeoutMs);
			this.#listeners.add(check);
			check();
		});
	}

	#describe(from: number): string {
		const types = this.messages.slice(from).map((m) => m.type);
		return types.length ? types.join(', ') : '(nothing)';
	}
}

/** Opens a connection and resolves once it is open; rejects with the HTTP status if refused. */
export function connect(
	url: string,
	options: ClientOptions = {},
	timeoutMs = DEFAULT_WAIT_MS
): Promise<TestClient> {
	const ws = new WebSocket(url, options);
	const client = new TestClient(ws);
	const opened = new Promise<TestClient>((resolve, reject) => {
		ws.once('open', () => resolve(client));
		ws.once('unexpected-response', (_req, res) => {
			reject(new Error(`upgrade refused with HTTP ${res.statusCode}`));
			res.resume();
			ws.terminate();
		});
		ws.once('error', reject);
		ws.once('close', (code) => reject(new Error(`closed with ${code} before opening`)));
	});
	return withTimeout(opened, timeoutMs, () => `${url} did not open within ${timeoutMs} ms`);
}

export interface UpgradeResponse {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: string;
}

/**
 * Sends a raw upgrade request and resolves with the HTTP response. A 101 (accepted) resolves
 * with status 101 and the socket is destroyed. `headers` replace the defaults; `null` removes one.
 */
export function upgradeRequest(
	url: string,
	headers: Record<string, string | null> = {},
	timeoutMs = DEFAULT_WAIT_MS
): Promise<UpgradeResponse> {
	const defaults: Record<string, string | null> = {
		Connection: 'Upgrade',
		Upgrade: 'websocket',
		'Sec-WebSocket-Version': '13',
		'Sec-WebSocket-Key': randomBytes(16).toString('base64')
	};
	const merged = Object.fromEntries(
		Object.entries({ ...defaults, ...headers }).filter(
			(entry): entry is [string, string] => entry[1] !== null
		)
	);
	const target = new URL(url.replace(/^ws/, 'http'));
	const response = new Promise<UpgradeResponse>((resolve, reject) => {
		const req = http.request(target, { headers: merged });
		req.on('upgrade', (res, socket) => {
			socket.destroy();
			resolve({ status: res.statusCode ?? 101, headers: res.headers, body: '' });
		});
		req.on('response', (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
			res.on('error', reject);
		});
		req.on('error', reject);
		req.end();
	});
	return withTimeout(
		response,
		timeoutMs,
		() => `no response to the upgrade of ${url} within ${timeoutMs} ms`
	);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(message())), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function rawLength(data: RawData): number {
	if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
	return data instanceof ArrayBuffer ? data.byteLength : data.length;
}
