/**
 * @module bench/hub-fanout/clients.child
 * The fan-out bench's WebSocket clients, in a child process so they do not share the server's
 * event loop. One group of clients per server, all connected for the whole bench so rounds
 * can alternate between servers without reconnecting. Each client subscribes to everything,
 * unpacks `batch` frames, records when each event arrived and checks that seqs arrive 1, 2, 3, … across every round
 * without a gap, a repeat or a reordering. Latency is receipt time minus the publish time the
 * parent sends with `report` (both on the machine's shared monotonic clock).
 *
 * Commands: `connect` → `ready`; `expect` (a round's seqs) → `expecting`; `await` → `delivered`
 * once every client of the group has a seq; `report` → `report`; `disconnect` → `disconnected`.
 */
import WebSocket, { type RawData } from 'ws';
import { reply, serveParent } from '../lib/child';
import { nowUs, percentile } from '../lib/stats';

export interface ClientsReport {
	ok: 'report';
	received: number;
	expected: number;
	/** clients that received every event of the round exactly once, in seq order */
	completeClients: number;
	orderErrors: string[];
	/** closes the server started (e.g. 4002 for a slow consumer), one line per distinct code */
	closes: string[];
	bytes: number;
	/** frames that carried events (a batch counts one) */
	frames: number;
	/** when the last of the round's first `loadEvents` events reached its last client */
	loadDeliveredUs: number;
	/** publish → receipt over the round's later (paced) events, every client */
	latencyUs: { p50: number; p90: number; p99: number; max: number };
	[key: string]: unknown;
}

const MAX_ERRORS_KEPT = 10;
const CLOSE_GRACE_MS = 1_000;
/**
 * An event frame starts `{"type":"<type>","seq":N,`; control frames put "timestamp" second
 * (and `welcome` has a "seq" only deep inside its data), so a "seq" key this early marks an event.
 */
const SEQ_KEY = Buffer.from('","seq":');
const SEQ_KEY_MAX_OFFSET = 40;

const BATCH_HEAD = Buffer.from('{"type":"batch"');

/**
 * The seqs of the events in a frame: one for an event, several for a `batch`, none for a
 * control frame. Within a batch every event starts `{"type":"<type>","seq":N`, and the bench's
 * payloads never contain that key, so each occurrence is one event.
 */
function eventSeqs(frame: Buffer): number[] {
	if (frame.subarray(0, BATCH_HEAD.length).equals(BATCH_HEAD)) {
		const seqs: number[] = [];
		for (let at = frame.indexOf(SEQ_KEY); at >= 0; at = frame.indexOf(SEQ_KEY, at + SEQ_KEY.length)) {
			seqs.push(readInt(frame, at + SEQ_KEY.length));
		}
		return seqs;
	}
	const seq = eventSeq(frame);
	return seq < 0 ? [] : [seq];
}

function readInt(frame: Buffer, from: number): number {
	let n = 0;
	for (let i = from; i < frame.length; i++) {
		const digit = frame[i] - 48;
		if (digit < 0 || digit > 9) break;
		n = n * 10 + digit;
	}
	return n;
}

/**
 * The seq of an event frame, or -1 for a control frame. Read from the bytes rather than
 * with JSON.parse: the clients share two cores with the server, and parsing the same frames
 * for both servers would only add equal work to each side of the comparison.
 */
function eventSeq(frame: Buffer): number {
	const at = frame.indexOf(SEQ_KEY);
	if (at < 0 || at > SEQ_KEY_MAX_OFFSET) return -1;
	return readInt(frame, at + SEQ_KEY.length);
}

class Group {
	readonly name: string;
	sockets: WebSocket[] = [];
	/** the seq each client must receive next; carries over from round to round */
	nextSeq = new Int32Array(0);
	closing = false;
	serverCloses = new Map<number, number>();
	// the current round: seqs base+1 … base+events
	base = 0;
	events = 0;
	/** receipt time per client and event, `client * events + (seq - base - 1)` */
	receipts = new Float64Array(0);
	counts = new Int32Array(0);
	/** how many clients have each event of the round */
	arrivals = new Int32Array(0);
	awaitedSeq = 0;
	received = 0;
	frames = 0;
	bytes = 0;
	orderErrorCount = 0;
	orderErrors: string[] = [];

	constructor(name: string) {
		this.name = name;
	}

	expect(base: number, events: number): void {
		const clients = this.sockets.length;
		Object.assign(this, {
			base,
			events,
			receipts: new Float64Array(clients * events),
			counts: new Int32Array(clients),
			arrivals: new Int32Array(events),
			awaitedSeq: 0,
			received: 0,
			frames: 0,
			bytes: 0,
			orderErrorCount: 0,
			orderErrors: []
		});
	}

	fullyDelivered(seq: number): boolean {
		return this.arrivals[seq - this.base - 1] === this.sockets.length;
	}

	#orderError(message: string): void {
		this.orderErrorCount += 1;
		if (this.orderErrors.length < MAX_ERRORS_KEPT) this.orderErrors.push(message);
	}

	onFrame(client: number, frame: Buffer, onSubscribed: () => void): void {
		const seqs = eventSeqs(frame);
		if (seqs.length === 0) {
			if ((JSON.parse(frame.toString()) as { type: string }).type === 'subscribed') onSubscribed();
			return;
		}
		this.frames += 1;
		this.bytes += frame.length;
		const now = nowUs();
		for (const seq of seqs) this.#onEvent(client, seq, now);
	}

	#onEvent(client: number, seq: number, now: number): void {
		if (seq !== this.nextSeq[client]) {
			this.#orderError(`client ${client}: expected seq ${this.nextSeq[client]}, got ${seq}`);
		}
		this.nextSeq[client] = seq + 1;
		const index = seq - this.base - 1;
		if (index < 0 || index >= this.events) {
			this.#orderError(
				`client ${client}: seq ${seq} outside the round (${this.base + 1}…${this.base + this.events})`
			);
			return;
		}
		this.receipts[client * this.events + index] = now;
		this.counts[client] += 1;
		this.arrivals[index] += 1;
		this.received += 1;
		if (seq === this.awaitedSeq && this.fullyDelivered(seq)) {
			this.awaitedSeq = 0;
			reply({ ok: 'delivered', seq });
		}
	}

	async connect(url: string, clients: number): Promise<void> {
		this.nextSeq = new Int32Array(clients).fill(1);
		const subscribed = Array.from({ length: clients }, (_, client) => {
			const ws = new WebSocket(url, { perMessageDeflate: false });
			this.sockets.push(ws);
			return new Promise<void>((resolve, reject) => {
				ws.on('error', reject);
				ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', sub: 'default', filter: {} })));
				ws.on('message', (data: RawData) => this.onFrame(client, data as Buffer, resolve));
				ws.on('close', (code: number) => {
					if (!this.closing) this.serverCloses.set(code, (this.serverCloses.get(code) ?? 0) + 1);
				});
			});
		});
		await Promise.all(subscribed);
	}

	awaitDelivery(seq: number): void {
		if (this.fullyDelivered(seq)) reply({ ok: 'delivered', seq });
		else this.awaitedSeq = seq;
	}

	report(publishedUs: number[], loadEvents: number): ClientsReport {
		const { events, receipts } = this;
		const latencies: number[] = [];
		let loadDeliveredUs = 0;
		for (let client = 0; client < this.sockets.length; client++) {
			for (let i = 0; i < events; i++) {
				const at = receipts[client * events + i];
				if (at === 0) continue;
				if (i < loadEvents) loadDeliveredUs = Math.max(loadDeliveredUs, at);
				else latencies.push(at - publishedUs[i]);
			}
		}
		const sorted = Float64Array.from(latencies).sort();
		const last = this.base + events;
		let completeClients = 0;
		for (let client = 0; client < this.sockets.length; client++) {
			if (this.counts[client] === events && this.nextSeq[client] === last + 1) completeClients += 1;
		}
		const orderErrors = [...this.orderErrors];
		if (this.orderErrorCount > orderErrors.length)
			orderErrors.push(`… ${this.orderErrorCount} seq errors in all`);
		return {
			ok: 'report',
			received: this.received,
			expected: this.sockets.length * events,
			completeClients: this.orderErrorCount === 0 ? completeClients : 0,
			orderErrors,
			closes: [...this.serverCloses].map(
				([code, n]) => `${n} ${this.name} clients closed by the server with ${code}`
			),
			bytes: this.bytes,
			frames: this.frames,
			loadDeliveredUs,
			latencyUs: {
				p50: percentile(sorted, 50),
				p90: percentile(sorted, 90),
				p99: percentile(sorted, 99),
				max: percentile(sorted, 100)
			}
		};
	}

	async disconnect(): Promise<void> {
		this.closing = true;
		const closed = this.sockets.map(
			(ws) =>
				new Promise<void>((resolve) => {
					if (ws.readyState === WebSocket.CLOSED) return resolve();
					ws.once('close', () => resolve());
					ws.close(1000);
					setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
				})
		);
		await Promise.all(closed);
		this.sockets = [];
	}
}

const groups = new Map<string, Group>();

function groupOf(message: Record<string, unknown>): Group {
	const group = groups.get(message.group as string);
	if (!group) throw new Error(`no client group ${JSON.stringify(message.group)}; connect it first`);
	return group;
}

serveParent(async (message) => {
	switch (message.cmd) {
		case 'connect': {
			const group = new Group(message.group as string);
			groups.set(group.name, group);
			await group.connect(message.url as string, message.clients as number);
			reply({ ok: 'ready' });
			return;
		}
		case 'expect':
			groupOf(message).expect(message.base as number, message.events as number);
			reply({ ok: 'expecting' });
			return;
		case 'await':
			groupOf(message).awaitDelivery(message.seq as number);
			return;
		case 'report':
			reply(groupOf(message).report(message.publishedUs as number[], message.loadEvents as number));
			return;
		case 'disconnect':
			await Promise.all([...groups.values()].map((group) => group.disconnect()));
			groups.clear();
			reply({ ok: 'disconnected' });
			return;
		default:
			throw new Error(`unknown command ${JSON.stringify(message.cmd)}`);
	}
});
