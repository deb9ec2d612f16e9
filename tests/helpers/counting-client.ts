/**
 * @module tests/helpers/counting-client
 * A WebSocket client for flow tests that reads as fast as it can and checks that event seqs
 * rise by exactly one, counting events by type without keeping them, so tens of thousands of
 * events stay cheap to receive. The lines of `tool.lines` events are counted too, and checked to
 * continue their execution's numbering (no gap, no repeat, in order). Control frames are kept.
 * `until()` fails fast on a seq or line error, a `dropped` notice or a close.
 */
import WebSocket, { type RawData } from 'ws';
import type { WelcomeData } from '../../src/lib/protocol/messages';

export interface Frame {
	type: string;
	seq?: number;
	data?: Record<string, unknown>;
	events?: { seq: number; type: string; data?: Record<string, unknown> }[];
}

interface LinesData {
	execution_id: string;
	lines: { line: number }[];
}

export class CountingClient {
	readonly ws: WebSocket;
	readonly controls: Frame[] = [];
	readonly errors: string[] = [];
	readonly byType = new Map<string, number>();
	welcome: WelcomeData | null = null;
	received = 0;
	/** lines of all `tool.lines` events received */
	lines = 0;
	/** the seq expected next; 0 until the first event sets it (set it before a resume) */
	next = 0;
	/**
	 * Skipped seqs are not errors (events only go forward): a reader that fell behind the stream
	 * gets superseded progress coalesced, so a real run's events may skip some; count its lines.
	 */
	allowSkips = false;
	/** seqs skipped (with `allowSkips`) */
	skipped = 0;
	closeCode: number | null = null;
	/** the last line number received, by execution */
	#lastLine = new Map<string, number>();
	#waiters = new Set<() => void>();

	constructor(url: string) {
		this.ws = new WebSocket(url, { perMessageDeflate: false });
		this.ws.on('error', () => {});
		this.ws.on('message', (data: RawData) => this.#onFrame(JSON.parse(String(data)) as Frame));
		this.ws.on('close', (code: number) => {
			this.closeCode = code;
			this.#notify();
		});
	}

	opened(): Promise<void> {
		return this.until(() => this.welcome !== null, 'welcome');
	}

	/** Resolves once `condition` holds (checked on every frame); rejects on a lost event or a close. */
	until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
		return new Promise((resolve, reject) => {
			const check = () => {
				if (condition()) {
					done();
					resolve();
				} else if (this.errors.length > 0 || this.controls.some((c) => c.type === 'dropped')) {
					done();
					reject(new Error(`events lost or out of order before ${what}; ${this.describe()}`));
				} else if (this.closeCode !== null) {
					done();
					reject(new Error(`closed with ${this.closeCode} before ${what}; ${this.describe()}`));
				}
			};
			const timer = setTimeout(() => {
				done();
				reject(new Error(`no ${what} within ${timeoutMs} ms; ${this.describe()}`));
			}, timeoutMs);
			const done = () => {
				clearTimeout(timer);
				this.#waiters.delete(check);
			};
			this.#waiters.add(check);
			check();
		});
	}

	send(message: object): void {
		this.ws.send(JSON.stringify(message));
	}

	count(type: string): number {
		return this.byType.get(type) ?? 0;
	}

	describe(): string {
		const types = this.controls.map((c) => c.type).join(', ');
		return `received ${this.received} events (${this.lines} lines), next ${this.next}; controls: ${types}; errors: ${this.errors.join('; ')}`;
	}

	#onFrame(frame: Frame): void {
		if (frame.type === 'batch')
			for (const event of frame.events!) this.#onEvent(event.seq, event.type, event.data);
		else if (typeof frame.seq === 'number') this.#onEvent(frame.seq, frame.type, frame.data);
		else {
			if (frame.type === 'welcome') this.welcome = frame.data as unknown as WelcomeData;
			this.controls.push(frame);
		}
		this.#notify();
	}

	#onEvent(seq: number, type: string, data: Record<string, unknown> | undefined): void {
		if (this.next !== 0 && seq > this.next && this.allowSkips) this.skipped += seq - this.next;
		else if (this.next !== 0 && seq !== this.next && this.errors.length < 5) {
			this.errors.push(`expected seq ${this.next}, got ${seq}`);
		}
		this.received += 1;
		this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
		this.next = seq + 1;
		if (type === 'tool.lines') this.#onLines(data as unknown as LinesData);
	}

	/**
	 * Lines are never coalesced: an event's lines go on from the last line of its execution so far
	 * (the execution's first event sets where it starts, for a client that joined mid-stream).
	 */
	#onLines({ execution_id, lines }: LinesData): void {
		let last = this.#lastLine.get(execution_id);
		for (const { line } of lines) {
			if (last !== undefined && line !== last + 1 && this.errors.length < 5) {
				this.errors.push(`expected line ${last + 1} of ${execution_id}, got ${line}`);
			}
			last = line;
		}
		if (last !== undefined) this.#lastLine.set(execution_id, last);
		this.lines += lines.length;
	}

	#notify(): void {
		for (const waiter of [...this.#waiters]) waiter();
	}
}

/** Connects `n` clients and subscribes each to `filter` (everything by default). */
export async function subscribedClients(
	url: string,
	n: number,
	filter: object = {}
): Promise<CountingClient[]> {
	const clients = Array.from({ length: n }, () => new CountingClient(url));
	await Promise.all(clients.map((c) => c.opened()));
	for (const client of clients) client.send({ type: 'subscribe', id: 'sub', filter });
	await Promise.all(
		clients.map((c) => c.until(() => c.controls.some((m) => m.type === 'subscribed'), 'subscribed'))
	);
	return clients;
}
