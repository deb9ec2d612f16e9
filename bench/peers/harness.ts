/**
 * @module bench/peers/harness
 * What every scenario of the peers suite drives: servers (one process per system, pinned to the
 * server core), the load generator (one process, pinned to the other core), and one measured
 * round of a system: the load generator is told what to expect, the server makes the lines, and
 * the round ends when every client has them (or a deadline passes). CPU time is read in both
 * processes around the round, so a round also says whether the load generator kept up.
 */
import { BenchChild, type ChildReply } from '../lib/child';
import { nowUs } from '../lib/stats';
import type { ChurnCommand, ConnectCommand, LoadReport, Protocol } from './loadgen.child';
import type { IngestCommand, IngestResult } from './producers';
import type { PublishCommand } from './server.child';
import type { SystemName, SystemOptions } from './systems';

export const SERVER_CPU = 0;
export const LOADGEN_CPU = 1;
export type ServerCpu = { us: number; sysUs: number; childrenUs: number | null; at: number } & Memory;

const SERVER_MODULE = new URL('./server.child.ts', import.meta.url);
const LOADGEN_MODULE = new URL('./loadgen.child.ts', import.meta.url);
const REPLY_MS = 60_000;

export interface Memory {
	rss: number;
	heapUsed: number;
	external: number;
	arrayBuffers: number;
}

export class ServerHandle {
	readonly system: SystemName;
	readonly child: BenchChild;
	url = '';
	httpUrl: string | null = null;
	taskIds: string[] = [];
	executionIds: string[] = [];
	pid = 0;

	constructor(system: SystemName, pin: boolean, profileDir?: string) {
		this.system = system;
		const execArgv = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
		this.child = new BenchChild(SERVER_MODULE, [], { cpu: pin ? SERVER_CPU : undefined, execArgv });
	}

	async start(options: SystemOptions): Promise<this> {
		this.child.send({ cmd: 'start', system: this.system, options });
		const started = await this.child.next<
			ChildReply & {
				url: string;
				httpUrl: string | null;
				pid: number;
				taskIds: string[];
				executionIds: string[];
			}
		>('started', REPLY_MS);
		this.taskIds = started.taskIds;
		this.executionIds = started.executionIds;
		this.url = started.url;
		this.httpUrl = started.httpUrl;
		this.pid = started.pid;
		return this;
	}

	async publish(command: PublishCommand): Promise<{ startUs: number; endUs: number }> {
		this.child.send({ cmd: 'publish', ...command });
		return this.child.next<{ ok: string; startUs: number; endUs: number }>('published', 10 * REPLY_MS);
	}

	/** A peer: runs the flood tool for `lines` lines and publishes each as it arrives. */
	async flood(lines: number): Promise<{ startUs: number; endUs: number }> {
		this.child.send({ cmd: 'flood', lines });
		return this.child.next<{ ok: string; startUs: number; endUs: number }>('flooded', 10 * REPLY_MS);
	}

	/** the server process's CPU µs; `childrenUs`: its exited children's (tools), where known */
	async cpu(): Promise<ServerCpu> {
		this.child.send({ cmd: 'cpu' });
		return this.child.next<ChildReply & ServerCpu>('cpu', REPLY_MS);
	}

	async gc(): Promise<Memory> {
		this.child.send({ cmd: 'gc' });
		return this.child.next<ChildReply & Memory>('gc', REPLY_MS);
	}

	async loop(): Promise<{ p50Ms: number; p99Ms: number; maxMs: number }> {
		this.child.send({ cmd: 'loop' });
		return this.child.next<ChildReply & { p50Ms: number; p99Ms: number; maxMs: number }>('loop', REPLY_MS);
	}

	async fds(): Promise<number> {
		this.child.send({ cmd: 'fds' });
		return (await this.child.next<ChildReply & { count: number }>('fds', REPLY_MS)).count;
	}

	/** GET a path of the system's HTTP API (aco) as JSON. */
	async getJson<T>(path: string): Promise<T> {
		const res = await fetch(`${this.httpUrl}${path}`);
		if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
		return (await res.json()) as T;
	}

	async stored(): Promise<number> {
		this.child.send({ cmd: 'stored' });
		return (await this.child.next<{ ok: string; lines: number }>('stored', REPLY_MS)).lines;
	}

	async close(): Promise<void> {
		try {
			this.child.send({ cmd: 'close' });
			await this.child.next('closed', REPLY_MS);
		} catch {
			// gone already; stop() ends it either way
		}
		await this.child.stop();
	}
}

export class LoadGen {
	readonly child: BenchChild;

	constructor(pin: boolean) {
		this.child = new BenchChild(LOADGEN_MODULE, [], pin ? { cpu: LOADGEN_CPU } : {});
	}

	async connect(command: ConnectCommand): Promise<{ seconds: number }> {
		this.child.send({ cmd: 'connect', ...command });
		return this.child.next<{ ok: string; seconds: number }>('connected', 10 * REPLY_MS);
	}

	async expect(
		group: string,
		counts: number[],
		contiguous: boolean[],
		latency = false,
		keep = false
	): Promise<void> {
		this.child.send({ cmd: 'expect', group, counts, contiguous, latency, keep });
		await this.child.next('expecting', REPLY_MS);
	}

	/** Sends a task's output through aco's REST or WebSocket producer; resolves with its rate. */
	async ingest(via: 'rest' | 'ws', command: IngestCommand): Promise<IngestResult> {
		this.child.send({ cmd: `ingest-${via}`, ...command });
		return this.child.next<ChildReply & IngestResult>('ingested', 10 * REPLY_MS);
	}

	async churn(command: ChurnCommand): Promise<{ seconds: number; failures: number }> {
		this.child.send({ cmd: 'churn', ...command });
		return this.child.next<ChildReply & { seconds: number; failures: number }>('churned', 10 * REPLY_MS);
	}

	/** Resolves when every client of the group has its events; false when the deadline passed first. */
	async delivered(group: string, timeoutMs: number): Promise<boolean> {
		this.child.send({ cmd: 'await', group });
		return this.child.next('delivered', timeoutMs).then(
			() => true,
			() => false
		);
	}

	async report(group: string): Promise<LoadReport> {
		this.child.send({ cmd: 'report', group });
		return this.child.next<LoadReport>('report', REPLY_MS);
	}

	async pause(group: string, clients: number[], resume = false): Promise<void> {
		this.child.send({ cmd: resume ? 'resume' : 'pause', group, clients });
		await this.child.next('ok', REPLY_MS);
	}

	async cpu(): Promise<{ us: number; at: number; rss: number }> {
		this.child.send({ cmd: 'cpu' });
		return this.child.next<ChildReply & { us: number; at: number; rss: number }>('cpu', REPLY_MS);
	}

	async close(group: string): Promise<void> {
		this.child.send({ cmd: 'close', group });
		await this.child.next('closed', REPLY_MS);
	}

	async stop(): Promise<void> {
		await this.child.stop();
	}
}

export function protocolOf(system: SystemName): Protocol {
	if (system === 'aco') return 'aco';
	if (system === 'socketio') return 'socketio';
	return 'plain';
}

export interface RoundResult extends Record<string, number> {
	deliveries: number;
	deliveriesPerSecond: number;
	/** server CPU time per delivery */
	serverUsPerDelivery: number;
	/** of which in the kernel (system time: socket writes) */
	serverSysUsPerDelivery: number;
	/** share of one core the load generator used during the round */
	loadgenShare: number;
	/** the load generator's CPU time per delivery: 1e6 / this is what its core could take */
	loadgenUsPerDelivery: number;
	/** share of one core the server used */
	serverShare: number;
	seconds: number;
	p50Ms: number;
	p99Ms: number;
	maxMs: number;
	framesPerDelivery: number;
}

export interface RoundSpec {
	group: string;
	/** events each class of clients must receive */
	counts: number[];
	contiguous?: boolean[];
	publish: PublishCommand;
	latency?: boolean;
	timeoutMs?: number;
}

/** A failed check in a round: lost, repeated or reordered events, or a deadline. */
export class RoundError extends Error {}

/** One measured round: publish on `server`, wait for the load generator to have everything. */
export async function round(server: ServerHandle, loadgen: LoadGen, spec: RoundSpec): Promise<RoundResult> {
	await loadgen.expect(spec.group, spec.counts, spec.contiguous ?? spec.counts.map(() => true), spec.latency);
	const cpu0 = await server.cpu();
	const gen0 = await loadgen.cpu();
	const published = await server.publish(spec.publish);
	const complete = await loadgen.delivered(spec.group, spec.timeoutMs ?? 120_000);
	const cpu1 = await server.cpu();
	const gen1 = await loadgen.cpu();
	const report = await loadgen.report(spec.group);
	if (!complete || report.received !== report.expected || report.complete !== report.clients) {
		throw new RoundError(
			`${spec.group}: ${report.complete} of ${report.clients} clients got all their events in order ` +
				`(${report.received} of ${report.expected} deliveries${complete ? '' : ', deadline passed'})` +
				[...report.closes, ...report.orderErrors].map((line) => `; ${line}`).join('')
		);
	}
	const end = Math.max(report.lastUs, published.endUs);
	const seconds = (end - published.startUs) / 1e6;
	const wall = Math.max(1, gen1.at - gen0.at);
	return {
		deliveries: report.received,
		deliveriesPerSecond: report.received / seconds,
		serverUsPerDelivery: (cpu1.us - cpu0.us) / Math.max(1, report.received),
		serverSysUsPerDelivery: (cpu1.sysUs - cpu0.sysUs) / Math.max(1, report.received),
		loadgenShare: (gen1.us - gen0.us) / wall,
		loadgenUsPerDelivery: (gen1.us - gen0.us) / Math.max(1, report.received),
		serverShare: (cpu1.us - cpu0.us) / Math.max(1, cpu1.at - cpu0.at),
		seconds,
		p50Ms: report.latencyUs.p50 / 1000,
		p99Ms: report.latencyUs.p99 / 1000,
		maxMs: report.latencyUs.max / 1000,
		framesPerDelivery: report.frames / Math.max(1, report.received)
	};
}

export function elapsedSince(startUs: number): number {
	return (nowUs() - startUs) / 1e6;
}
