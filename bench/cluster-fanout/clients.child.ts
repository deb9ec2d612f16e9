/**
 * @module bench/cluster-fanout/clients.child
 * The cluster fan-out bench's WebSocket clients, in a process of their own. A group is one
 * scenario's clients, spread round-robin over that scenario's nodes; each subscribes to
 * everything and checks that seqs arrive one by one (the global seq: the same stream on every
 * node), with no gap, repeat or reordering. Seqs are read from the frame's bytes, not parsed,
 * so the clients stay cheap next to the servers they measure.
 *
 * Commands: `connect {group, urls, clients}` → `ready`; `expect {group, events}` → `expecting`
 * (a round of `events` begins after what each client has); `await {group}` → `delivered` once
 * every client of the group has the round's events;
 * `report {group}` → `report`; `disconnect` → `disconnected`.
 */
import WebSocket, { type RawData } from 'ws';
import { reply, serveParent } from '../lib/child';
import { nowUs } from '../lib/stats';

export interface ClientsReport {
	ok: 'report';
	received: number;
	expected: number;
	completeClients: number;
	errors: string[];
	frames: number;
	/** when the round's last event reached its last client */
	lastDeliveredUs: number;
	[key: string]: unknown;
}

const SEQ_KEY = Buffer.from('","seq":');
const BATCH_HEAD = Buffer.from('{"type":"batch"');
/** an event frame starts `{"type":"<type>","seq":N,`; control frames put "timestamp" second */
const SEQ_KEY_MAX_OFFSET = 40;
const MAX_ERRORS = 10;

function readInt(frame: Buffer, from: number): number {
	let n = 0;
	for (let i = from; i < frame.length; i++) {
		const digit = frame[i]! - 48;
		if (digit < 0 || digit > 9) break;
		n = n * 10 + digit;
	}
	return n;
}

function eventSeqs(frame: Buffer): number[] {
	if (frame.subarray(0, BATCH_HEAD.length).equals(BATCH_HEAD)) {
		const seqs: number[] = [];
		for (let at = frame.indexOf(SEQ_KEY); at >= 0; at = frame.indexOf(SEQ_KEY, at + SEQ_KEY.length)) {
			seqs.push(readInt(frame, at + SEQ_KEY.length));
		}
		return seqs;
	}
	const at = frame.indexOf(SEQ_KEY);
	return at < 0 || at > SEQ_KEY_MAX_OFFSET ? [] : [readInt(frame, at + SEQ_KEY.length)];
}

class Group {
	sockets: WebSocket[] = [];
	/** the newest seq each client has (from its welcome on) */
	last = new Float64Array(0);
	/** each client's seq when the round began */
	start = new Float64Array(0);
	events = 0;
	received = 0;
	frames = 0;
	lastDeliveredUs = 0;
	errors: string[] = [];
	onProgress: (() => void) | null = null;

	expect(events: number): void {
		this.events = events;
		this.received = 0;
		this.frames = 0;
		this.lastDeliveredUs = 0;
		this.errors = [];
		this.start = Float64Array.from(this.last);
	}

	onFrame(client: number, frame: Buffer): void {
		const seqs = eventSeqs(frame);
		if (seqs.length === 0) return;
		this.frames += 1;
		for (const seq of seqs) {
			if (seq !== this.last[client]! + 1) {
				if (this.errors.length < MAX_ERRORS) {
					this.errors.push(`client ${client}: seq ${seq} after ${this.last[client]}`);
				}
				if (seq <= this.last[client]!) continue;
			}
			this.last[client] = seq;
			this.received += 1;
			if (seq === this.start[client]! + this.events) this.lastDeliveredUs = nowUs();
		}
		this.onProgress?.();
	}

	/** whether every client has the round's events */
	done(): boolean {
		for (let i = 0; i < this.last.length; i++) if (this.last[i]! < this.start[i]! + this.events) return false;
		return true;
	}
}

const groups = new Map<string, Group>();

async function connectOne(group: Group, index: number, url: string): Promise<void> {
	const ws = new WebSocket(url, { perMessageDeflate: false });
	group.sockets[index] = ws;
	await new Promise<void>((resolve, reject) => {
		let welcomed = false;
		ws.on('message', (data: RawData) => {
			const frame = data as Buffer;
			if (!welcomed) {
				const text = frame.toString();
				if (text.includes('"type":"welcome"')) {
					group.last[index] = (JSON.parse(text) as { data: { seq: number } }).data.seq;
					ws.send(JSON.stringify({ type: 'subscribe', sub: 'all', filter: {}, id: 's' }));
				} else if (text.includes('"type":"subscribed"')) {
					welcomed = true;
					resolve();
				}
				return;
			}
			group.onFrame(index, frame);
		});
		ws.once('error', reject);
		ws.once('close', (code) => {
			if (!welcomed) reject(new Error(`closed with ${code} before subscribing`));
			else if (group.errors.length < MAX_ERRORS) group.errors.push(`client ${index} closed with ${code}`);
		});
	});
}

serveParent(async (message) => {
	switch (message.cmd) {
		case 'connect': {
			const { group: name, urls, clients } = message as { group: string; urls: string[]; clients: number };
			const group = new Group();
			group.last = new Float64Array(clients);
			groups.set(name, group);
			const batch = 50;
			for (let i = 0; i < clients; i += batch) {
				const connecting: Promise<void>[] = [];
				for (let j = i; j < Math.min(clients, i + batch); j++)
					connecting.push(connectOne(group, j, urls[j % urls.length]!));
				await Promise.all(connecting);
			}
			reply({ ok: 'ready' });
			break;
		}
		case 'expect': {
			const { group, events } = message as { group: string; events: number };
			groups.get(group)!.expect(events);
			reply({ ok: 'expecting' });
			break;
		}
		case 'await': {
			const group = groups.get(message.group as string)!;
			if (group.done()) {
				reply({ ok: 'delivered' });
				break;
			}
			group.onProgress = () => {
				if (!group.done()) return;
				group.onProgress = null;
				reply({ ok: 'delivered' });
			};
			break;
		}
		case 'report': {
			const group = groups.get(message.group as string)!;
			let complete = 0;
			for (let i = 0; i < group.last.length; i++) {
				if (group.last[i] === group.start[i]! + group.events) complete += 1;
			}
			const report: ClientsReport = {
				ok: 'report',
				received: group.received,
				expected: group.events * group.last.length,
				completeClients: complete,
				errors: group.errors,
				frames: group.frames,
				lastDeliveredUs: group.lastDeliveredUs
			};
			reply(report);
			break;
		}
		case 'disconnect': {
			for (const group of groups.values()) for (const ws of group.sockets) ws.terminate();
			reply({ ok: 'disconnected' });
			break;
		}
		default:
			throw new Error(`unknown command ${String(message.cmd)}`);
	}
});
