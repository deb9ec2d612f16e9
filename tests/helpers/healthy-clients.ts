/**
 * @module tests/helpers/healthy-clients
 * Well-behaved subscribers fed by a steady stream of events, to show that whatever a test does
 * to the server meanwhile (an attack, a flood, a refused request) does not starve anyone else.
 *
 * A ticker creates a stand-alone task over the ingest API and appends one output line to it
 * every `intervalMs`, each line carrying the time it was sent; `count` clients subscribe to
 * that task over the hub. {@link HealthyClients.expectHealthy} sends one more line and waits
 * until every client has received every line so far, in order, with no gap and no repeat,
 * while its connection stayed open; it throws otherwise, and returns the delivery figures.
 *
 * @example
 * const healthy = await HealthyClients.start(aco, { token: VIEWER, operatorToken: OPERATOR });
 * try {
 *   await attack();
 *   await healthy.expectHealthy();
 * } finally {
 *   await healthy.stop();
 * }
 */
import type { IngestTaskResponse } from '../../src/lib/protocol';
import { carriesLine, isToolLines } from './live-lines';
import { connect, type TestClient } from './ws-client';

export const DEFAULT_HEALTHY_CLIENTS = 3;
export const DEFAULT_TICK_MS = 50;
export const DEFAULT_HEALTHY_TIMEOUT_MS = 15_000;

export interface HealthyClientsOptions {
	/** subscribers to keep (default 3) */
	count?: number;
	/** what the subscribers present on the upgrade (a viewer token is enough); none when omitted */
	token?: string;
	/** what the ticker presents to the ingest API (an operator token); none when omitted */
	operatorToken?: string;
	/** time between two lines of the ticker (default 50 ms) */
	intervalMs?: number;
}

export interface HealthFigures {
	/** lines every client received */
	lines: number;
	/** the longest a line took from the ticker's send to a client's receipt, ms */
	maxLatencyMs: number;
	/** the 99th percentile of those latencies, ms */
	p99LatencyMs: number;
}

export interface ExpectHealthyOptions {
	timeoutMs?: number;
	/** fail when a line took longer than this to reach a client */
	maxLatencyMs?: number;
	/** the latency figures count only lines from this one on (e.g. those sent during an attack) */
	fromLine?: number;
}

interface Server {
	url: string;
	wsUrl: string;
}

interface Receipt {
	line: number;
	latencyMs: number;
}

export class HealthyClients {
	readonly taskId: string;
	readonly clients: TestClient[];
	readonly #server: Server;
	readonly #headers: Record<string, string>;
	readonly #intervalMs: number;
	#sent = 0;
	#timer: NodeJS.Timeout | null = null;
	#inFlight: Promise<void> = Promise.resolve();
	#tickError: Error | null = null;
	#stopped = false;

	private constructor(
		server: Server,
		taskId: string,
		clients: TestClient[],
		headers: Record<string, string>,
		intervalMs: number
	) {
		this.#server = server;
		this.taskId = taskId;
		this.clients = clients;
		this.#headers = headers;
		this.#intervalMs = intervalMs;
	}

	/** Creates the ticker's task, connects and subscribes the clients, and starts ticking. */
	static async start(server: Server, options: HealthyClientsOptions = {}): Promise<HealthyClients> {
		const headers: Record<string, string> = { 'content-type': 'application/json' };
		if (options.operatorToken) headers.authorization = `Bearer ${options.operatorToken}`;
		const created = await post<IngestTaskResponse>(
			server,
			'/tasks',
			{ name: 'healthy-clients ticker' },
			headers
		);
		const taskId = created.task.id;
		await post(
			server,
			`/tasks/${taskId}/events`,
			{ events: [{ type: 'tool.start', step: 0, name: 'tick' }] },
			headers
		);
		const clients: TestClient[] = [];
		const wsOptions = options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {};
		for (let i = 0; i < (options.count ?? DEFAULT_HEALTHY_CLIENTS); i += 1) {
			const client = await connect(server.wsUrl, wsOptions, 10_000);
			recordArrivals(client);
			await client.nextOfType('welcome', 10_000);
			await client.request({ type: 'subscribe', sub: 'healthy', filter: { task_ids: [taskId] } }, 10_000);
			clients.push(client);
		}
		const self = new HealthyClients(server, taskId, clients, headers, options.intervalMs ?? DEFAULT_TICK_MS);
		self.#schedule();
		return self;
	}

	/** lines the ticker has sent so far */
	get sent(): number {
		return this.#sent;
	}

	/**
	 * Sends one more line, then waits until every client has every line up to it, in order.
	 * Throws when a client closed, missed or repeated a line, a line came later than
	 * `maxLatencyMs`, or the ticker's requests failed.
	 */
	async expectHealthy(options: ExpectHealthyOptions = {}): Promise<HealthFigures> {
		const timeoutMs = options.timeoutMs ?? DEFAULT_HEALTHY_TIMEOUT_MS;
		await this.#tick();
		if (this.#tickError) throw new Error(`the ticker failed: ${this.#tickError.message}`);
		// the scheduler may send more meanwhile: the check covers lines up to this one
		const last = this.#sent;
		for (const client of this.clients) {
			await client
				.next((m) => carriesLine(m, last) && m.data.task_id === this.taskId, timeoutMs)
				.catch((err: Error) => {
					throw new Error(`a healthy client did not receive line ${last}: ${err.message}`);
				});
		}
		const latencies: number[] = [];
		for (const client of this.clients) {
			if (!client.isOpen) throw new Error('a healthy client was disconnected');
			const lines = this.#linesOf(client).filter((r) => r.line <= last);
			const expected = Array.from({ length: last }, (_, i) => i + 1);
			const received = lines.map((r) => r.line);
			if (received.length !== expected.length || received.some((n, i) => n !== expected[i])) {
				throw new Error(
					`a healthy client received lines ${summarize(received)} instead of 1..${last} in order`
				);
			}
			const from = options.fromLine ?? 1;
			latencies.push(...lines.filter((r) => r.line >= from).map((r) => r.latencyMs));
		}
		latencies.sort((a, b) => a - b);
		const figures: HealthFigures = {
			lines: last,
			maxLatencyMs: latencies[latencies.length - 1] ?? 0,
			p99LatencyMs: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0
		};
		if (options.maxLatencyMs !== undefined && figures.maxLatencyMs > options.maxLatencyMs) {
			throw new Error(
				`a line took ${figures.maxLatencyMs} ms to reach a healthy client (limit ${options.maxLatencyMs} ms)`
			);
		}
		return figures;
	}

	/** Stops the ticker and closes the clients. Idempotent. */
	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		if (this.#timer) clearTimeout(this.#timer);
		await this.#inFlight.catch(() => {});
		await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
	}

	#linesOf(client: TestClient): Receipt[] {
		const receipts: Receipt[] = [];
		for (const message of client.messages) {
			if (!isToolLines(message) || message.data.task_id !== this.taskId) continue;
			const arrived = arrivals.get(message) ?? Date.now();
			for (const { line, output } of message.data.lines) {
				const sentAt = Number(/sent=(\d+)/.exec(output)?.[1] ?? NaN);
				receipts.push({ line, latencyMs: arrived - sentAt });
			}
		}
		return receipts;
	}

	#schedule(): void {
		if (this.#stopped) return;
		this.#timer = setTimeout(() => {
			void this.#tick().finally(() => this.#schedule());
		}, this.#intervalMs);
	}

	/** Sends the next line after every tick before it (one at a time, so no number is sent twice). */
	#tick(): Promise<void> {
		this.#inFlight = this.#inFlight.then(() => this.#send());
		return this.#inFlight;
	}

	async #send(): Promise<void> {
		if (this.#tickError) return;
		const n = this.#sent + 1;
		try {
			await post(
				this.#server,
				`/tasks/${this.taskId}/events`,
				{ events: [{ type: 'output', step: 0, lines: [{ n, text: `tick ${n} sent=${Date.now()}` }] }] },
				this.#headers
			);
			this.#sent = n;
		} catch (err) {
			this.#tickError = err as Error;
		}
	}
}

/** when each message reached its client (TestClient keeps messages, not their times) */
const arrivals = new WeakMap<object, number>();

/**
 * Records the arrival time of every message the client receives from now on. TestClient's own
 * listener was added first, so a frame is parsed into `messages` by the time this one runs.
 */
function recordArrivals(client: TestClient): void {
	let seen = client.messages.length;
	client.ws.on('message', () => {
		const now = Date.now();
		for (; seen < client.messages.length; seen += 1) arrivals.set(client.messages[seen] as object, now);
	});
}

function summarize(lines: number[]): string {
	if (lines.length <= 12) return `[${lines.join(', ')}]`;
	return `[${lines.slice(0, 6).join(', ')}, …, ${lines.slice(-6).join(', ')}] (${lines.length})`;
}

/** connection errors worth one more try: a keep-alive socket the server closed as it was reused */
const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const POST_ATTEMPTS = 3;

/** A POST, tried again on a connection error (safe here: each line carries its number, a repeat is a duplicate). */
async function post<T = unknown>(
	server: Server,
	path: string,
	body: unknown,
	headers: Record<string, string>
): Promise<T> {
	let res: Response;
	for (let attempt = 1; ; attempt += 1) {
		try {
			res = await fetch(`${server.url}/api/v1${path}`, {
				method: 'POST',
				headers,
				body: JSON.stringify(body)
			});
			break;
		} catch (err) {
			const code = (err as { cause?: { code?: string } }).cause?.code;
			if (attempt >= POST_ATTEMPTS || !code || !RETRYABLE.has(code)) throw err;
		}
	}
	const text = await res.text();
	if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
	return JSON.parse(text) as T;
}
