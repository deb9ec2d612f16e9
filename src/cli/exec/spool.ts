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

export class Spool {
	readonly header: SpoolHeader;
	readonly events: IngestEventInput[];
	readonly file: string;
	#state: SpoolState;
	#stateFile: string;

	private constructor(file: string, header: SpoolHeader, events: IngestEventInput[], state: SpoolState) {
		this.file = file;
		this.header = header;
		this.events = events;
		this.#state = state;
		this.#stateFile = file.replace(/\.ndjson$/, '.state.json');
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
		fs.writeFileSync(file, JSON.stringify(full) + '\n');
		const spool = new Spool(file, full, [], { task_id: null, acked: 0, complete: false });
		spool.#saveState();
		return spool;
	}

	/** Reads a spool file; null when it is not one (or torn beyond its header). */
	static open(file: string): Spool | null {
		let lines: string[];
		try {
			lines = fs.readFileSync(file, 'utf8').split('\n');
		} catch {
			return null;
		}
		let header: SpoolHeader;
		try {
			header = JSON.parse(lines[0]) as SpoolHeader;
			if (header.v !== 1 || typeof header.id !== 'string') return null;
		} catch {
			return null;
		}
		const events: IngestEventInput[] = [];
		for (const line of lines.slice(1)) {
			if (!line) continue;
			try {
				events.push(JSON.parse(line) as IngestEventInput);
			} catch {
				break; // a line torn by a crash ends what can be trusted
			}
		}
		let state: SpoolState = { task_id: null, acked: 0, complete: false };
		try {
			state = {
				...state,
				...(JSON.parse(fs.readFileSync(file.replace(/\.ndjson$/, '.state.json'), 'utf8')) as SpoolState)
			};
		} catch {
			// no state yet: deliver from the first event
		}
		return new Spool(file, header, events, { ...state, acked: Math.min(state.acked, events.length) });
	}

	get state(): Readonly<SpoolState> {
		return this.#state;
	}

	append(events: IngestEventInput[]): void {
		if (events.length === 0) return;
		fs.appendFileSync(this.file, events.map((e) => JSON.stringify(e) + '\n').join(''));
		this.events.push(...events);
	}

	markComplete(): void {
		this.#state = { ...this.#state, complete: true };
		this.#saveState();
	}

	acknowledge(taskId: string, acked: number): void {
		this.#state = { ...this.#state, task_id: taskId, acked };
		this.#saveState();
	}

	get delivered(): boolean {
		return this.#state.complete && this.#state.task_id !== null && this.#state.acked >= this.events.length;
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
