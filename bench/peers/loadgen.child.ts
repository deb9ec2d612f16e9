/**
 * @module bench/peers/loadgen.child
 * The load generator: groups of raw WebSocket clients (raw-client.ts), one group per system
 * under test, all in this process (pinned to its own core). Each client counts the lines it
 * receives by their marker bytes (an event holds one line or, from aco, several), checks the
 * events' seq order, and notes when it had them all; in latency rounds it also reads each line's
 * creation stamp. Nothing is parsed as JSON: each line is found by its marker, the next one from
 * MIN_LINE_BYTES after it on, and an event's seq is read before its first line (about 150 ns a
 * line, so one client takes several million lines a second).
 *
 * Commands (IPC, see bench/lib/child.ts): `connect` → `connected`; `expect` → `expecting`;
 * `await` → `delivered`; `report` → `report`; `pause`/`resume` → `ok`; `close` → `closed`;
 * `cpu` → `cpu`.
 */
import { reply, serveParent } from '../lib/child';
import { nowUs, percentile } from '../lib/stats';
import { EVENT_MARKER, LINE_MARKER, MIN_LINE_BYTES, readInt, readStamp, shortestLineBytes } from './event';
import { ingestRest, ingestWs, type IngestCommand } from './producers';
import { RawClient } from './raw-client';

export type Protocol = 'aco' | 'socketio' | 'plain';

export interface ConnectCommand {
	group: string;
	url: string;
	clients: number;
	protocol: Protocol;
	/**
	 * aco: what each class of clients sends once open (a subscribe message, or several messages
	 * such as subscribe and resume); client i is of class i % classes unless `classes` says
	 */
	subscribe?: (object | object[])[];
	/** the class of each client, when not round robin */
	classes?: number[];
	/** how many connect at once */
	concurrency?: number;
	/** negotiate permessage-deflate */
	deflate?: boolean;
	/** events each class of the new clients must receive (as `expect` would, without a reset) */
	counts?: number[];
}

export interface ExpectCommand {
	group: string;
	/** events each class of client must receive this round */
	counts: number[];
	/** whether a class's seqs rise by exactly one (it wants every event) */
	contiguous: boolean[];
	/** record each event's latency (creation stamp → receipt) */
	latency: boolean;
	/** only change what each class must receive, keeping what arrived (the total is known late) */
	keep?: boolean;
}

export interface LoadReport {
	ok: 'report';
	received: number;
	expected: number;
	complete: number;
	clients: number;
	orderErrors: string[];
	closes: string[];
	frames: number;
	bytes: number;
	/** bytes read off the sockets (frame headers and compressed payloads as they came) */
	wireBytes: number;
	/** receipt of the first and the last event of the round (µs, shared monotonic clock) */
	firstUs: number;
	lastUs: number;
	/** when the first client of the group sent its opening messages */
	openedUs: number;
	/** the lowest seq any client received this round */
	minSeq: number;
	latencyUs: { count: number; p50: number; p90: number; p99: number; max: number };
	[key: string]: unknown;
}

const MAX_ERRORS = 5;
const OPEN_BRACKET = 0x5b;
if (shortestLineBytes() <= MIN_LINE_BYTES) throw new Error('MIN_LINE_BYTES passes over lines: lower it');

class Group {
	readonly name: string;
	readonly protocol: Protocol;
	clients: RawClient[] = [];
	classOf = new Int32Array(0);
	ready = new Uint8Array(0);
	counts = new Int32Array(0);
	lastSeq = new Float64Array(0);
	expected = new Int32Array(0);
	contiguous: boolean[] = [];
	remaining = 0;
	received = 0;
	frames = 0;
	bytes = 0;
	firstUs = 0;
	lastUs = 0;
	openedUs = 0;
	minSeq = 0;
	/** the sockets' bytesRead when the round began */
	readAtStart = 0;
	/** when the newest event of the round arrived */
	lastEventUs = 0;
	latency: Float64Array | null = null;
	latencyCount = 0;
	orderErrors: string[] = [];
	orderErrorCount = 0;
	closes = new Map<number, number>();
	closing = false;
	#waiter: (() => void) | null = null;

	constructor(name: string, protocol: Protocol) {
		this.name = name;
		this.protocol = protocol;
	}

	async connect(command: ConnectCommand): Promise<void> {
		const url = new URL(command.url);
		const path = this.protocol === 'socketio' ? '/socket.io/?EIO=4&transport=websocket' : url.pathname;
		const n = command.clients;
		const start = this.clients.length;
		const total = start + n;
		this.#grow(total);
		const subscribe = command.subscribe ?? [];
		const concurrency = command.concurrency ?? 100;
		for (let from = start; from < total; from += concurrency) {
			const batch: Promise<void>[] = [];
			for (let i = from; i < Math.min(total, from + concurrency); i++) {
				this.classOf[i] =
					command.classes?.[i - start] ?? (subscribe.length ? (i - start) % subscribe.length : 0);
				const want = command.counts?.[this.classOf[i]!] ?? 0;
				this.expected[i] = want;
				if (want > 0) this.remaining += 1;
				batch.push(this.#open(i, url, path, subscribe[this.classOf[i]!], command.deflate === true));
			}
			await Promise.all(batch);
		}
	}

	#grow(size: number): void {
		const grow = <T extends Int32Array | Uint8Array | Float64Array>(old: T, make: (n: number) => T): T => {
			const next = make(size);
			next.set(old);
			return next;
		};
		this.classOf = grow(this.classOf, (n) => new Int32Array(n));
		this.ready = grow(this.ready, (n) => new Uint8Array(n));
		this.counts = grow(this.counts, (n) => new Int32Array(n));
		this.lastSeq = grow(this.lastSeq, (n) => new Float64Array(n));
		this.expected = grow(this.expected, (n) => new Int32Array(n));
	}

	#open(
		i: number,
		url: URL,
		path: string,
		subscribe: object | object[] | undefined,
		deflate: boolean
	): Promise<void> {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(
				() => reject(new Error(`${this.name}: client ${i} not ready in 30 s`)),
				30_000
			);
			const ready = () => {
				if (this.ready[i]) return;
				this.ready[i] = 1;
				clearTimeout(timer);
				resolve();
			};
			const client: RawClient = new RawClient({
				host: url.hostname,
				port: Number(url.port),
				path,
				deflate,
				onOpen: () => {
					if (this.openedUs === 0) this.openedUs = nowUs();
					// a plain server is sent a subscription only when the scenario names one (uws topics)
					if (this.protocol === 'socketio' || (this.protocol === 'plain' && subscribe === undefined)) return;
					const messages = Array.isArray(subscribe)
						? subscribe
						: [subscribe ?? { type: 'subscribe', filter: {} }];
					for (const message of messages) client.send(JSON.stringify(message));
				},
				onText: (data, start, end) => this.#onText(i, client, data, start, end, ready),
				onClose: (code) => {
					if (!this.ready[i]) {
						clearTimeout(timer);
						reject(new Error(`${this.name}: client ${i} closed with ${code} before it was ready`));
					}
					if (!this.closing) this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
					this.#check();
				}
			});
			this.clients[i] = client;
		});
	}

	#onText(i: number, client: RawClient, data: Buffer, start: number, end: number, ready: () => void): void {
		let line = data.indexOf(LINE_MARKER, start);
		if (line < 0 || line >= end) {
			// control frames: readiness, Socket.IO's handshake and pings
			if (this.protocol === 'socketio') {
				if (end - start === 1 && data[start] === 0x32) client.send('3');
				else if (data[start] === 0x30) client.send('40');
			}
			if (!this.ready[i] && data.subarray(start, end).includes('subscribed')) ready();
			return;
		}
		const now = nowUs();
		this.lastEventUs = now;
		this.frames += 1;
		this.bytes += end - start;
		if (this.firstUs === 0) this.firstUs = now;
		const cls = this.classOf[i]!;
		const contiguous = this.contiguous[cls] ?? true;
		let count = this.counts[i]!;
		let last = this.lastSeq[i]!;
		while (line >= 0 && line < end) {
			// an event's first line follows `"lines":[`: the event's marker, and its seq, lie just before
			if (data[line - 1] === OPEN_BRACKET) {
				const at = data.lastIndexOf(EVENT_MARKER, line);
				if (at >= start) {
					const seq = readInt(data, at + EVENT_MARKER.length, end);
					if (this.minSeq === 0 || seq < this.minSeq) this.minSeq = seq;
					if (last !== 0 && (contiguous ? seq !== last + 1 : seq <= last)) this.#orderError(i, last, seq);
					last = seq;
				}
			}
			count += 1;
			if (this.latency) {
				const stamp = readStamp(data, line, end);
				if (stamp > 0 && this.latencyCount < this.latency.length)
					this.latency[this.latencyCount++] = now - stamp;
			}
			// the next line's marker is MIN_LINE_BYTES on at least (a shorter line would show as a gap)
			line = data.indexOf(LINE_MARKER, line + MIN_LINE_BYTES);
		}
		const before = this.counts[i]!;
		this.received += count - before;
		this.counts[i] = count;
		this.lastSeq[i] = last;
		const want = this.expected[i]!;
		if (before < want && count >= want) {
			this.lastUs = Math.max(this.lastUs, now);
			this.remaining -= 1;
			this.#check();
		}
	}

	#orderError(i: number, last: number, seq: number): void {
		this.orderErrorCount += 1;
		if (this.orderErrors.length < MAX_ERRORS)
			this.orderErrors.push(`${this.name} client ${i}: seq ${seq} after ${last}`);
	}

	expect(command: ExpectCommand): void {
		const n = this.clients.length;
		if (command.keep) {
			this.remaining = 0;
			for (let i = 0; i < n; i++) {
				const want = command.counts[this.classOf[i]!] ?? 0;
				if (this.counts[i]! < want) this.remaining += 1;
				this.expected[i] = want;
			}
			if (this.remaining === 0) this.lastUs = this.lastEventUs;
			this.#check();
			return;
		}
		let total = 0;
		this.remaining = 0;
		for (let i = 0; i < n; i++) {
			const want = command.counts[this.classOf[i]!] ?? 0;
			this.expected[i] = want;
			this.counts[i] = 0;
			total += want;
			if (want > 0) this.remaining += 1;
		}
		this.contiguous = command.contiguous;
		this.received = 0;
		this.frames = 0;
		this.bytes = 0;
		this.firstUs = 0;
		this.lastUs = 0;
		this.openedUs = 0;
		this.minSeq = 0;
		this.lastEventUs = 0;
		this.readAtStart = this.#bytesRead();
		this.orderErrors = [];
		this.orderErrorCount = 0;
		this.latency = command.latency ? new Float64Array(total) : null;
		this.latencyCount = 0;
	}

	/** Resolves when every client has its count (or one closed: the report says so). */
	delivered(): Promise<void> {
		return new Promise((resolve) => {
			this.#waiter = resolve;
			this.#check();
		});
	}

	#check(): void {
		if (!this.#waiter) return;
		const open = this.clients.filter((c, i) => c.open || this.counts[i]! >= this.expected[i]!).length;
		if (this.remaining <= 0 || open < this.clients.length) {
			const waiter = this.#waiter;
			this.#waiter = null;
			waiter();
		}
	}

	report(): LoadReport {
		let complete = 0;
		let expected = 0;
		for (let i = 0; i < this.clients.length; i++) {
			expected += this.expected[i]!;
			if (this.counts[i] === this.expected[i]) complete += 1;
		}
		const sorted = this.latency ? this.latency.subarray(0, this.latencyCount).sort() : new Float64Array(0);
		const errors = [...this.orderErrors];
		if (this.orderErrorCount > errors.length) errors.push(`… ${this.orderErrorCount} order errors in all`);
		return {
			ok: 'report',
			received: this.received,
			expected,
			complete: this.orderErrorCount ? 0 : complete,
			clients: this.clients.length,
			orderErrors: errors,
			closes: [...this.closes].map(([code, n]) => `${n} ${this.name} clients closed with ${code}`),
			frames: this.frames,
			bytes: this.bytes,
			wireBytes: this.#bytesRead() - this.readAtStart,
			firstUs: this.firstUs,
			lastUs: this.lastUs,
			openedUs: this.openedUs,
			minSeq: this.minSeq,
			latencyUs: {
				count: sorted.length,
				p50: percentile(sorted, 50),
				p90: percentile(sorted, 90),
				p99: percentile(sorted, 99),
				max: percentile(sorted, 100)
			}
		};
	}

	#bytesRead(): number {
		let n = 0;
		for (const client of this.clients) n += client.socket.bytesRead;
		return n;
	}

	close(): void {
		this.closing = true;
		for (const client of this.clients) client.close();
		this.clients = [];
	}
}

export interface ChurnCommand {
	url: string;
	protocol: Protocol;
	/** connect, wait until subscribed, disconnect: this many times */
	cycles: number;
	/** cycles running at once */
	concurrency: number;
	/**
	 * aco: subscribe in the upgrade URL, as aco's own clients do (protocol 2), or with a
	 * `subscribe` message once the socket is open (protocol 1's only way)
	 */
	subscribeIn?: 'url' | 'message';
}

/**
 * The protocol's connect-subscriptions format, written by hand like every other frame this raw
 * client sends: the load generator imports nothing of the app (with the protocol module and zod
 * loaded, its heap and collections changed, and scenario 5's replay rates with them: 10,000
 * behind measured 0.2–0.25× of the same server's figure with a lean load generator).
 */
const SUBSCRIBE_ALL = { sub: 'default', filter: {} };

/** Opens and closes `cycles` connections, `concurrency` at a time; each waits for its greeting. */
async function churn(command: ChurnCommand): Promise<{ seconds: number; failures: number }> {
	const url = new URL(command.url);
	const inUrl = command.protocol === 'aco' && command.subscribeIn !== 'message';
	const path =
		command.protocol === 'socketio'
			? '/socket.io/?EIO=4&transport=websocket'
			: inUrl
				? `${url.pathname}?subscribe=${encodeURIComponent(JSON.stringify(SUBSCRIBE_ALL))}`
				: url.pathname;
	let started = 0;
	let failures = 0;
	const begin = nowUs();
	const one = () =>
		new Promise<void>((resolve) => {
			let done = false;
			const finish = (ok: boolean) => {
				if (done) return;
				done = true;
				if (!ok) failures += 1;
				client.close();
				resolve();
			};
			const client: RawClient = new RawClient({
				host: url.hostname,
				port: Number(url.port),
				path,
				onOpen: () => {
					if (command.protocol !== 'aco' || inUrl) return;
					client.send(JSON.stringify({ type: 'subscribe', ...SUBSCRIBE_ALL }));
				},
				onText: (data, start, end) => {
					const frame = data.subarray(start, end);
					if (command.protocol === 'socketio' && frame[0] === 0x30 && frame[1] === 0x7b) client.send('40');
					if (frame.includes('subscribed')) finish(true);
				},
				onClose: () => finish(false)
			});
		});
	const worker = async () => {
		while (started < command.cycles) {
			started += 1;
			await one();
		}
	};
	await Promise.all(Array.from({ length: command.concurrency }, worker));
	return { seconds: (nowUs() - begin) / 1e6, failures };
}

const groups = new Map<string, Group>();

function group(message: Record<string, unknown>): Group {
	const g = groups.get(message.group as string);
	if (!g) throw new Error(`no client group ${String(message.group)}`);
	return g;
}

serveParent(async (message) => {
	switch (message.cmd) {
		case 'connect': {
			const command = message as unknown as ConnectCommand;
			let g = groups.get(command.group);
			if (!g) groups.set(command.group, (g = new Group(command.group, command.protocol)));
			const started = nowUs();
			await g.connect(command);
			reply({ ok: 'connected', clients: g.clients.length, seconds: (nowUs() - started) / 1e6 });
			return;
		}
		case 'expect':
			group(message).expect(message as unknown as ExpectCommand);
			reply({ ok: 'expecting' });
			return;
		case 'await':
			await group(message).delivered();
			reply({ ok: 'delivered' });
			return;
		case 'report':
			reply(group(message).report());
			return;
		case 'pause':
		case 'resume': {
			const g = group(message);
			for (const i of message.clients as number[]) {
				if (message.cmd === 'pause') g.clients[i]?.pause();
				else g.clients[i]?.resume();
			}
			reply({ ok: 'ok' });
			return;
		}
		case 'close':
			group(message).close();
			groups.delete(message.group as string);
			reply({ ok: 'closed' });
			return;
		case 'ingest-rest':
		case 'ingest-ws': {
			const command = message as unknown as IngestCommand;
			const result = message.cmd === 'ingest-rest' ? await ingestRest(command) : await ingestWs(command);
			reply({ ok: 'ingested', ...result });
			return;
		}
		case 'churn': {
			const result = await churn(message as unknown as ChurnCommand);
			reply({ ok: 'churned', ...result });
			return;
		}
		case 'cpu': {
			const { user, system } = process.cpuUsage();
			reply({ ok: 'cpu', us: user + system, at: nowUs(), rss: process.memoryUsage().rss });
			return;
		}
		default:
			throw new Error(`unknown command ${JSON.stringify(message.cmd)}`);
	}
});
