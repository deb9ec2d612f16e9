/**
 * @module cli/exec/spool
 * What `aco exec` reports, kept on disk until the server has it: one NDJSON file per command
 * (a header line with the task, then one line per ingest event) and a small state file with the
 * server's task id and how many events it acknowledged. A spool whose owner has exited and that
 * is not fully delivered is picked up by the next `aco` invocation ({@link leftoverSpools}).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CreateTaskRequest, IngestEventInput } from '../../lib/protocol/ingest';

export interface SpoolHeader {
	v: 1;
	/** also the task's idempotency key */
	id: string;
	url: string;
	task: CreateTaskRequest;
	pid: number;
	host: string;
	created_at: string;
}

export interface SpoolState {
	task_id: string | null;
	/** events the server acknowledged, counted from the first */
	acked: number;
	/** true once the command ended and its last event is spooled */
	complete: boolean;
}

/** `ACO_SPOOL_DIR`, else `$XDG_STATE_HOME/aco/spool`, else `~/.local/state/aco/spool`. */
export function spoolDir(env: NodeJS.ProcessEnv = process.env): string {
	if (env.ACO_SPOOL_DIR) return path.resolve(env.ACO_SPOOL_DIR);
	const state = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
	return path.join(state, 'aco', 'spool');
}

/** bytes read from a spool file at a time */
const READ_CHUNK_BYTES = 1 << 20;

export class Spool {
	readonly header: SpoolHeader;
	readonly file: string;
	#state: SpoolState;
	#stateFile: string;
	/** events in the file */
	#count: number;
	/** where in the file the first event the server has not acknowledged starts */
	#ackedAt: number;
	/** what the last {@link unacknowledged} read: how many events, and where the next one starts */
	#read: { from: number; count: number; end: number } | null = null;
	/** where a file opened with a torn tail (its writer was killed mid-line) stops being events */
	#tornAt: number | null;

	private constructor(
		file: string,
		header: SpoolHeader,
		state: SpoolState,
		count: number,
		ackedAt: number,
		tornAt: number | null = null
	) {
		this.file = file;
		this.header = header;
		this.#state = state;
		this.#stateFile = file.replace(/\.ndjson$/, '.state.json');
		this.#count = count;
		this.#ackedAt = ackedAt;
		this.#tornAt = tornAt;
	}

	static create(dir: string, header: Omit<SpoolHeader, 'v' | 'pid' | 'host' | 'created_at'>): Spool {
		fs.mkdirSync(dir, { recursive: true });
		const full: SpoolHeader = {
			v: 1,
			...header,
			pid: process.pid,
			host: os.hostname(),
			created_at: new Date().toISOString()
		};
		const file = path.join(dir, `${header.id}.ndjson`);
		const first = JSON.stringify(full) + '\n';
		fs.writeFileSync(file, first);
		const state = { task_id: null, acked: 0, complete: false };
		const spool = new Spool(file, full, state, 0, Buffer.byteLength(first));
		spool.#saveState();
		return spool;
	}

	/**
	 * Reads a spool file; null when it is not one (or torn beyond its header). Only counts its
	 * events: they are read a batch at a time as they are sent, so a spool of any size opens.
	 */
	static open(file: string): Spool | null {
		let state: SpoolState = { task_id: null, acked: 0, complete: false };
		try {
			state = {
				...state,
				...(JSON.parse(fs.readFileSync(file.replace(/\.ndjson$/, '.state.json'), 'utf8')) as SpoolState)
			};
		} catch {
			// no state yet: deliver from the first event
		}
		let scan: EventScan;
		let header: SpoolHeader;
		try {
			scan = scanEvents(file, state.acked);
			header = JSON.parse(scan.header ?? '') as SpoolHeader;
			if (header.v !== 1 || typeof header.id !== 'string') return null;
		} catch {
			return null;
		}
		const { count, ackedAt, goodEnd } = scan;
		const tornAt = fs.statSync(file).size > goodEnd ? goodEnd : null;
		return new Spool(file, header, { ...state, acked: Math.min(state.acked, count) }, count, ackedAt, tornAt);
	}

	get state(): Readonly<SpoolState> {
		return this.#state;
	}

	/** events spooled so far */
	get count(): number {
		return this.#count;
	}

	append(events: IngestEventInput[]): void {
		if (events.length === 0) return;
		// what follows a torn tail would be read as part of it: the tail goes first (its writer is gone)
		if (this.#tornAt !== null) {
			fs.truncateSync(this.file, this.#tornAt);
			this.#tornAt = null;
		}
		fs.appendFileSync(this.file, events.map((e) => JSON.stringify(e) + '\n').join(''));
		this.#count += events.length;
	}

	/**
	 * The next events the server has not acknowledged, read from the file: at most `maxEvents`,
	 * and no more than `maxBytes` of them unless one alone is larger (one at least).
	 */
	unacknowledged(maxEvents: number, maxBytes: number): IngestEventInput[] {
		const events: IngestEventInput[] = [];
		let bytes = 0;
		let end = this.#ackedAt;
		if (this.#state.acked < this.#count) {
			let start = this.#ackedAt;
			for (const line of fileLines(this.file, this.#ackedAt)) {
				const size = line.end - start - 1;
				start = line.end;
				if (!line.text) continue;
				if (events.length > 0 && (events.length >= maxEvents || bytes + size > maxBytes)) break;
				const event = parsed(line.text);
				if (!event) break;
				events.push(event);
				bytes += size;
				end = line.end;
				if (this.#state.acked + events.length >= this.#count) break;
			}
		}
		this.#read = { from: this.#state.acked, count: events.length, end };
		return events;
	}

	markComplete(): void {
		this.#state = { ...this.#state, complete: true };
		this.#saveState();
	}

	/** The server has the first `acked` events (usually those the last {@link unacknowledged} read). */
	acknowledge(taskId: string, acked: number): void {
		const read = this.#read;
		if (read && read.from === this.#state.acked && acked === read.from + read.count) this.#ackedAt = read.end;
		else if (acked !== this.#state.acked) this.#ackedAt = scanEvents(this.file, acked).ackedAt;
		this.#read = null;
		this.#state = { ...this.#state, task_id: taskId, acked };
		this.#saveState();
	}

	get delivered(): boolean {
		return this.#state.complete && this.#state.task_id !== null && this.#state.acked >= this.#count;
	}

	/**
	 * Moves the spool aside (`….ndjson.rejected`, its state with it), out of the leftovers every
	 * command tries; returns where it is now.
	 */
	setAside(): string {
		const to = `${this.file}.rejected`;
		fs.renameSync(this.file, to);
		fs.rmSync(this.#stateFile, { force: true });
		return to;
	}

	remove(): void {
		fs.rmSync(this.file, { force: true });
		fs.rmSync(this.#stateFile, { force: true });
	}

	#saveState(): void {
		const tmp = `${this.#stateFile}.${process.pid}.tmp`;
		fs.writeFileSync(tmp, JSON.stringify(this.#state));
		fs.renameSync(tmp, this.#stateFile);
	}
}

/** Spools in `dir` that no live `aco exec` on this machine is still writing, oldest first. */
export function leftoverSpools(dir: string): Spool[] {
	let names: string[];
	try {
		names = fs.readdirSync(dir).filter((n) => n.endsWith('.ndjson'));
	} catch {
		return [];
	}
	const spools: Spool[] = [];
	for (const name of names) {
		const spool = Spool.open(path.join(dir, name));
		if (!spool) continue;
		const { pid, host } = spool.header;
		if (host === os.hostname() && (pid === process.pid || isAlive(pid))) continue;
		spools.push(spool);
	}
	return spools.sort((a, b) =>
		a.header.created_at < b.header.created_at ? -1 : a.header.created_at > b.header.created_at ? 1 : 0
	);
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
}

interface EventScan {
	/** the header line's text; null for an empty file */
	header: string | null;
	/** events before the first torn line */
	count: number;
	/** where event `acked` (0-based) starts, or the end of the events when there are fewer */
	ackedAt: number;
	/** where the events end: past it the file holds a torn line, or nothing */
	goodEnd: number;
}

/** Reads `file` through once, counting its events; it holds none of them. */
function scanEvents(file: string, acked: number): EventScan {
	const scan: EventScan = { header: null, count: 0, ackedAt: 0, goodEnd: 0 };
	for (const { text, end } of fileLines(file, 0)) {
		if (scan.header === null) {
			scan.header = text;
			scan.ackedAt = scan.goodEnd = end;
			continue;
		}
		// a line torn by a crash ends what can be trusted
		if (text && !parsed(text)) break;
		scan.goodEnd = end;
		if (!text) continue;
		scan.count++;
		if (scan.count <= acked) scan.ackedAt = end;
	}
	return scan;
}

/** an event line, or null for one a crash tore */
function parsed(text: string): IngestEventInput | null {
	try {
		return JSON.parse(text) as IngestEventInput;
	} catch {
		return null;
	}
}

/** The lines of `file` from byte `start` on, each with where the next one starts; a chunk at a time. */
function* fileLines(file: string, start: number): Generator<{ text: string; end: number }> {
	const fd = fs.openSync(file, 'r');
	try {
		let buffer = Buffer.alloc(0);
		let at = start;
		for (;;) {
			const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
			const read = fs.readSync(fd, chunk, 0, chunk.length, at + buffer.length);
			if (read === 0) break;
			buffer = buffer.length ? Buffer.concat([buffer, chunk.subarray(0, read)]) : chunk.subarray(0, read);
			let from = 0;
			for (let nl = buffer.indexOf(10); nl !== -1; nl = buffer.indexOf(10, from)) {
				yield { text: buffer.toString('utf8', from, nl), end: at + nl + 1 };
				from = nl + 1;
			}
			at += from;
			buffer = buffer.subarray(from);
		}
		// a last line without its newline is one being written or torn: not yet an event
	} finally {
		fs.closeSync(fd);
	}
}
