/**
 * @module bench/peers/suite
 * What a scenario of the peers suite gets: the options of the run, the load generator, and
 * servers it starts (closed for it when it ends), plus the names the report prints.
 */
import { canPin } from '../lib/child';
import { LoadGen, protocolOf, ServerHandle } from './harness';
import type { ConnectCommand } from './loadgen.child';
import type { MetricSpec, ScenarioResult } from './report';
import type { SystemName, SystemOptions } from './systems';

/** How big a run is: `quick` a smoke of a few seconds per scenario, `short` the loads at smaller sizes (about a minute per scenario on a quiet machine), `full` the sizes. */
export type RunSize = 'quick' | 'short' | 'full';

export interface SuiteOptions {
	size: RunSize;
	/** size === 'quick': a few seconds in all, small sizes, one round (CI's smoke) */
	quick: boolean;
	rounds: number;
	/** clients per system where a scenario says "1,000 clients" */
	clients: number;
	/** pin servers to one core and the load generator to the other */
	pin: boolean;
	/** the peers that load here (uws is left out where its binary does not) */
	peers: SystemName[];
	/** write aco's CPU profiles (node --cpu-prof) to this folder */
	profileDir?: string;
}

export const LABELS: Record<string, string> = {
	aco: 'aco',
	'aco-bare': 'aco, no subscriber',
	'uws-bare': 'uWebSockets.js, no subscriber',
	'ws-stringify': 'ws, JSON.stringify per client',
	'ws-cork': 'ws, serialise once + cork',
	'ws-frames': 'ws, pre-built frames concatenated',
	socketio: 'Socket.IO 4, room emit',
	uws: 'uWebSockets.js publish'
};

export type ScenarioOutcome = Pick<
	ScenarioResult,
	'figures' | 'rounds' | 'metrics' | 'ratios' | 'bars' | 'notes'
>;

export interface Scenario {
	id: number;
	name: string;
	title: string;
	run(suite: Suite): Promise<ScenarioOutcome>;
}

export class Suite {
	readonly options: SuiteOptions;
	readonly loadgen: LoadGen;
	#servers: ServerHandle[] = [];
	#groups: string[] = [];

	constructor(options: SuiteOptions, loadgen: LoadGen) {
		this.options = options;
		this.loadgen = loadgen;
	}

	get pinned(): boolean {
		return this.options.pin && canPin();
	}

	/** Starts `system` in its own (pinned) process; closed when the scenario ends. */
	async server(system: SystemName, options: Partial<SystemOptions> = {}): Promise<ServerHandle> {
		const profile = system === 'aco' ? this.options.profileDir : undefined;
		const handle = new ServerHandle(system, this.pinned, profile);
		this.#servers.push(handle);
		return handle.start({ maxConnections: this.options.clients, ...options });
	}

	/** Connects `clients` clients of the load generator to `server` as group `group`. */
	async connect(
		server: ServerHandle,
		group: string,
		clients: number,
		options: Pick<ConnectCommand, 'subscribe' | 'classes' | 'deflate' | 'counts'> = {}
	): Promise<void> {
		if (!this.#groups.includes(group)) this.#groups.push(group);
		await this.loadgen.connect({
			group,
			url: server.url,
			clients,
			protocol: protocolOf(server.system),
			...options
		});
	}

	/** Closes a group of clients before the scenario ends. */
	async disconnect(group: string): Promise<void> {
		this.#groups = this.#groups.filter((g) => g !== group);
		await this.loadgen.close(group);
	}

	/** Closes the scenario's client groups and servers. */
	async release(): Promise<void> {
		for (const group of this.#groups.splice(0)) {
			await this.loadgen.close(group).catch(() => {});
		}
		for (const server of this.#servers.splice(0)) await server.close();
	}
}

/** A scenario's figure for the run's size. */
export function pick<T>(size: RunSize, quick: T, short: T, full: T): T {
	return size === 'quick' ? quick : size === 'short' ? short : full;
}

/** Per-system round figures → medians. */
export function medians(
	rounds: Record<string, Record<string, number[]>>
): Record<string, Record<string, number>> {
	const out: Record<string, Record<string, number>> = {};
	for (const [system, metrics] of Object.entries(rounds)) {
		out[system] = {};
		for (const [key, values] of Object.entries(metrics)) out[system]![key] = median(values);
	}
	return out;
}

export function median(values: readonly number[]): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Adds a round's figures (only the keys of `metrics`) to `rounds[system]`. */
export function record(
	rounds: Record<string, Record<string, number[]>>,
	system: string,
	figures: Record<string, number>,
	metrics: MetricSpec[]
): void {
	const bucket = (rounds[system] ??= {});
	for (const m of metrics) {
		if (figures[m.key] === undefined) continue;
		(bucket[m.key] ??= []).push(figures[m.key]!);
	}
}

/** Rotates `items` by `r`, so each round starts with another system. */
export function rotate<T>(items: readonly T[], r: number): T[] {
	const k = r % Math.max(1, items.length);
	return [...items.slice(k), ...items.slice(0, k)];
}
