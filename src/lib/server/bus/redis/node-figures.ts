/**
 * @module bus/redis/node-figures
 * Each node's figures, shared through Redis so any node can show the whole cluster: every
 * `everyMs` a node writes its figures under its own key with a TTL (a node that died drops out
 * by itself) and its id into a set; reading lists the set and fetches the keys still alive.
 */
import type { Logger } from '../../logger';
import { describeError } from './client';
import type { ScriptedRedis, StreamKeys } from './scripts';

export const DEFAULT_FIGURES_EVERY_MS = 2_000;
/** Figures older than this many refreshes are gone (the node stopped or lost Redis). */
const TTL_REFRESHES = 5;

export interface NodeFiguresEntry<T> {
	node: string;
	/** when the node wrote them (its clock, ISO-8601) */
	updated_at: string;
	figures: T;
}

export interface NodeFiguresOptions<T> {
	client: ScriptedRedis;
	keys: StreamKeys;
	nodeId: string;
	collect: () => T;
	everyMs?: number;
	logger: Logger;
}

export class NodeFigures<T> {
	#options: NodeFiguresOptions<T>;
	#everyMs: number;
	#timer: NodeJS.Timeout | null = null;
	#writing = false;

	constructor(options: NodeFiguresOptions<T>) {
		this.#options = options;
		this.#everyMs = options.everyMs ?? DEFAULT_FIGURES_EVERY_MS;
	}

	start(): void {
		if (this.#timer) return;
		this.#timer = setInterval(() => void this.write(), this.#everyMs);
		this.#timer.unref();
		void this.write();
	}

	/** Writes this node's figures now (skipped while Redis is down or a write is in flight). */
	async write(): Promise<void> {
		const { client, keys, nodeId, collect, logger } = this.#options;
		if (this.#writing || client.status !== 'ready') return;
		this.#writing = true;
		try {
			const entry: NodeFiguresEntry<T> = {
				node: nodeId,
				updated_at: new Date().toISOString(),
				figures: collect()
			};
			await client
				.multi()
				.set(keys.node(nodeId), JSON.stringify(entry), 'PX', this.#everyMs * TTL_REFRESHES)
				.sadd(keys.nodes, nodeId)
				.exec();
		} catch (err) {
			logger.debug({ err: describeError(err) }, 'could not share node figures');
		} finally {
			this.#writing = false;
		}
	}

	/** Every live node's latest figures, sorted by node id; rejects when Redis is unreachable. */
	async read(): Promise<NodeFiguresEntry<T>[]> {
		const { client, keys } = this.#options;
		const ids = (await client.smembers(keys.nodes)).sort();
		if (ids.length === 0) return [];
		const values = await client.mget(ids.map((id) => keys.node(id)));
		const entries: NodeFiguresEntry<T>[] = [];
		const gone: string[] = [];
		values.forEach((value, i) => {
			if (value === null) gone.push(ids[i]!);
			else entries.push(JSON.parse(value) as NodeFiguresEntry<T>);
		});
		if (gone.length > 0) await client.srem(keys.nodes, ...gone);
		return entries;
	}

	/** Stops sharing and removes this node's figures (when Redis can be reached). */
	async close(): Promise<void> {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
		const { client, keys, nodeId } = this.#options;
		if (client.status !== 'ready') return;
		try {
			await client.multi().del(keys.node(nodeId)).srem(keys.nodes, nodeId).exec();
		} catch {
			// the key's TTL removes it anyway
		}
	}
}
