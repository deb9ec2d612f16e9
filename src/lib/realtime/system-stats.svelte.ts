/**
 * @module realtime/system-stats
 * The /system page's figures: the last ten minutes of the node's samples, loaded over REST when
 * the page opens and kept current by the `system.stats` messages the hub sends to a subscription
 * that names them. Samples are merged by their number, so a sample that comes both ways counts
 * once; a restarted node (another pid or start time) starts the series over.
 */
import { ApiClient } from '$lib/api';
import type { SystemStatsData, SystemStatsResponse, SystemStatsSample } from '$lib/protocol';
import { SYSTEM_STATS_TYPE } from '$lib/protocol';
import type { RealtimeConnection } from './connection.svelte';
import { handleError } from './handle-error';

export const SYSTEM_SUBSCRIPTION = 'system';
/** How much of the past the page keeps (and its charts span). */
export const DEFAULT_SYSTEM_WINDOW_MS = 10 * 60_000;

export type SystemStatsStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface SystemStatsOptions {
	connection: RealtimeConnection;
	api?: ApiClient;
	windowMs?: number;
	onError?: (err: unknown, context: string) => void;
}

type Node = SystemStatsData['node'];

export class SystemStatsStore {
	#samples = $state.raw<SystemStatsSample[]>([]);
	#node = $state.raw<Node | null>(null);
	#intervalMs = $state(2_000);
	#status = $state<SystemStatsStatus>('idle');
	#error = $state<string | null>(null);

	readonly #connection: RealtimeConnection;
	readonly #api: ApiClient;
	readonly #windowMs: number;
	readonly #onError: (err: unknown, context: string) => void;
	#teardown: (() => void)[] = [];
	#abort: AbortController | null = null;

	constructor(options: SystemStatsOptions) {
		this.#connection = options.connection;
		this.#api = options.api ?? new ApiClient();
		this.#windowMs = options.windowMs ?? DEFAULT_SYSTEM_WINDOW_MS;
		this.#onError = options.onError ?? handleError;
	}

	/** oldest first, at most the window */
	get samples(): SystemStatsSample[] {
		return this.#samples;
	}
	get latest(): SystemStatsSample | null {
		return this.#samples.at(-1) ?? null;
	}
	get node(): Node | null {
		return this.#node;
	}
	get intervalMs(): number {
		return this.#intervalMs;
	}
	get windowMs(): number {
		return this.#windowMs;
	}
	get status(): SystemStatsStatus {
		return this.#status;
	}
	get error(): string | null {
		return this.#error;
	}

	/** Subscribes and loads the past. Call from onMount. */
	start(): void {
		if (this.#teardown.length) return;
		this.#teardown.push(
			this.#connection.onControl(SYSTEM_STATS_TYPE, (data) => this.#add(data.node, [data.sample])),
			this.#connection.onReconnected(() => this.load())
		);
		this.#connection.subscribe(
			SYSTEM_SUBSCRIPTION,
			{ types: [SYSTEM_STATS_TYPE] },
			{ reload: () => this.load() }
		);
		void this.load();
	}

	destroy(): void {
		for (const off of this.#teardown) off();
		this.#teardown = [];
		this.#connection.unsubscribe(SYSTEM_SUBSCRIPTION);
		this.#abort?.abort();
	}

	/** Loads the samples the node kept; live ones that came meanwhile are kept too. */
	async load(): Promise<void> {
		this.#abort?.abort();
		const abort = (this.#abort = new AbortController());
		if (this.#status !== 'ready') this.#status = 'loading';
		try {
			const body: SystemStatsResponse = await this.#api.getSystemStats(abort.signal);
			if (abort.signal.aborted) return;
			this.#intervalMs = body.interval_ms;
			this.#add(body.node, body.samples);
			this.#status = 'ready';
			this.#error = null;
		} catch (err) {
			if (abort.signal.aborted) return;
			this.#status = 'error';
			this.#error = err instanceof Error ? err.message : String(err);
			this.#onError(err, 'Loading the system figures');
		}
	}

	#add(node: Node, incoming: readonly SystemStatsSample[]): void {
		const current = this.#node;
		const sameNode = current !== null && current.pid === node.pid && current.started_at === node.started_at;
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local merge, never rendered
		const byN = new Map<number, SystemStatsSample>();
		if (sameNode) for (const sample of this.#samples) byN.set(sample.n, sample);
		for (const sample of incoming) byN.set(sample.n, sample);
		const merged = [...byN.values()].sort((a, b) => a.n - b.n);
		const newest = merged.at(-1);
		const from = newest ? Date.parse(newest.at) - this.#windowMs : 0;
		this.#node = node;
		this.#samples = merged.filter((sample) => Date.parse(sample.at) >= from);
		if (this.#status !== 'ready' && merged.length > 0) this.#status = 'ready';
	}
}
