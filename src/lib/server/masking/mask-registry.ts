/**
 * @module masking/mask-registry
 * The values stand-alone tasks announced with `::add-mask::`, shared by the nodes of a cluster
 * through Redis, so a line that reaches another node than the announcement did is masked all the
 * same. One list per task, `<prefix>masks:<task id>`, in Redis's memory only (never in the
 * database): appended to before the request that announced a value is answered, read past what a
 * node already holds before a request's output is applied, removed when the task ends, and gone
 * by itself after {@link DEFAULT_MASK_TTL_MS} without a request (each read or append renews it).
 * A list holds each value once, at most {@link DEFAULT_MAX_MASK_VALUES} of them, as a task's mask
 * set does, after an entry that names its generation (below).
 *
 * @example
 * const registry = await connectMaskRegistry({ url, prefix: 'aco:', nodeId, logger });
 * await registry.add(taskId, ['s3cr3t-value']);          // on the node that heard it
 * const list = await registry.read(taskId, { generation: null, length: 0, last: null }); // on any node
 * // list.values; next time read from where it stands: list (a MaskListPosition)
 * await registry.close();
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { createClient, warnConnectionErrors, whenReady } from '../bus/redis/client';
import { DEFAULT_MAX_MASK_VALUES } from './mask-set';

/** A task's list lives this long after its last read or append (a producer silent longer loses it). */
export const DEFAULT_MASK_TTL_MS = 24 * 60 * 60 * 1000;
/** A read or append without a reply within this time fails the request (retryable). */
export const DEFAULT_MASK_COMMAND_TIMEOUT_MS = 5_000;
/** How long connecting waits for Redis before the node starts without it (it keeps trying). */
export const DEFAULT_MASK_STARTUP_WAIT_MS = 5_000;

/**
 * A list's first entry names its generation, a random id given when it is made; values follow,
 * each once, in the order they were added. A reader says where it stands ({@link MaskListPosition}):
 * the generation it read, how many values, and the last of them. A list of another generation
 * (lost and made again: Redis restarted without its data, it expired) is read whole, and so is one
 * of the same generation that no longer holds that last value where the reader read it (rolled
 * back to an older copy: a restore, an append-only file that lost its last second, a failover to
 * a replica that lagged), whatever its length; either way the reader then hands on every value it
 * holds (see ingest/task-masks).
 *
 * KEYS: the list. ARGV: the values the reader holds, the ttl (ms), its generation (empty: none),
 * the last value it read. Returns `{length, generation, values, rolled_back}`: the values past
 * the reader's, or all of them (`rolled_back` 1 when the generation is the reader's). No list:
 * `{0, false, {}, 0}`. Renews the ttl.
 * No shebang: a read with a ttl renewal still works when Redis is out of memory.
 */
const READ_LUA = `
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return {0, false, {}, 0} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local generation = redis.call('LINDEX', KEYS[1], 0)
local from = tonumber(ARGV[1])
local rolled_back = 0
if generation ~= ARGV[3] then
  from = 0
elseif from > 0 and redis.call('LINDEX', KEYS[1], from) ~= ARGV[4] then
  from = 0
  rolled_back = 1
end
return {n - 1, generation, redis.call('LRANGE', KEYS[1], from + 1, -1), rolled_back}`;

/**
 * KEYS: the list. ARGV: the most values it may hold, the ttl (ms), the generation a new list is
 * given, the values. Makes the list if there is none, appends the values it does not hold yet
 * (as many as fit) and renews the ttl; returns `{taken, generation}`.
 */
const ADD_LUA = `#!lua
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('RPUSH', KEYS[1], ARGV[3]) end
local room = tonumber(ARGV[1]) + 1 - redis.call('LLEN', KEYS[1])
local taken = 0
for i = 4, #ARGV do
  if taken >= room then break end
  if not redis.call('LPOS', KEYS[1], ARGV[i]) then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    taken = taken + 1
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {taken, redis.call('LINDEX', KEYS[1], 0)}`;

/** Where a node stands in a task's list: what it read of it. */
export interface MaskListPosition {
	/** the list's generation; null when there is none */
	generation: string | null;
	/** values the list holds (read: how many of them the node has) */
	length: number;
	/** the last of them; null when none */
	last: string | null;
}

/** What a read of a task's list found. */
export interface MaskList extends MaskListPosition {
	/** the values past the reader's position, or all of them when the list is not the one it read */
	values: string[];
	/**
	 * The list is of the reader's generation but no longer the one it read (rolled back to an older
	 * copy): read whole. (One of another generation is read whole too, and tells by its generation.)
	 */
	rolledBack: boolean;
}

export interface MaskRegistry {
	/**
	 * The task's values past what a node read (`at`), or all of them when the list is not the one it
	 * read; rejects when Redis cannot answer.
	 */
	read(taskId: string, at: MaskListPosition): Promise<MaskList>;
	/**
	 * Appends the values the list does not hold yet (as many as the cap allows), making the list
	 * if there is none; resolves once Redis holds them, with how many it took and the list's generation.
	 */
	add(taskId: string, values: readonly string[]): Promise<{ taken: number; generation: string }>;
	/** the task ended: its values go */
	forget(taskId: string): Promise<void>;
	close(): Promise<void>;
}

export interface MaskRegistryOptions {
	url: string;
	/** the cluster's key prefix (ACO_REDIS_PREFIX) */
	prefix: string;
	/** names the connection in Redis's CLIENT LIST */
	nodeId: string;
	logger: Logger;
	ttlMs?: number;
	maxValues?: number;
	commandTimeoutMs?: number;
	startupWaitMs?: number;
}

interface ScriptedClient extends Redis {
	acoMasksRead(
		key: string,
		from: number,
		ttlMs: number,
		generation: string,
		last: string
	): Promise<[number, string | null, string[], number]>;
	acoMasksAdd(
		key: string,
		max: number,
		ttlMs: number,
		generation: string,
		...values: string[]
	): Promise<[number, string]>;
}

class RedisMaskRegistry implements MaskRegistry {
	#client: ScriptedClient;
	#options: MaskRegistryOptions;
	#ttlMs: number;
	#maxValues: number;
	#closing: Promise<void> | null = null;

	constructor(options: MaskRegistryOptions) {
		this.#options = options;
		this.#ttlMs = options.ttlMs ?? DEFAULT_MASK_TTL_MS;
		this.#maxValues = options.maxValues ?? DEFAULT_MAX_MASK_VALUES;
		const client = createClient({
			url: options.url,
			name: `aco:${options.nodeId}:masks`,
			commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_MASK_COMMAND_TIMEOUT_MS
		});
		client.defineCommand('acoMasksRead', { numberOfKeys: 1, lua: READ_LUA });
		client.defineCommand('acoMasksAdd', { numberOfKeys: 1, lua: ADD_LUA });
		warnConnectionErrors([client], options.logger, 'shared mask values');
		this.#client = client as ScriptedClient;
	}

	/** Connects; waits up to `startupWaitMs` for Redis, then goes on (ioredis keeps trying). */
	async start(): Promise<void> {
		this.#client.connect().catch(() => {});
		const wait = AbortSignal.timeout(this.#options.startupWaitMs ?? DEFAULT_MASK_STARTUP_WAIT_MS);
		await whenReady(this.#client, wait);
	}

	async read(taskId: string, at: MaskListPosition): Promise<MaskList> {
		const [length, generation, values, rolledBack] = await this.#client.acoMasksRead(
			this.#key(taskId),
			at.length,
			this.#ttlMs,
			at.generation ?? '',
			at.last ?? ''
		);
		const n = Number(length);
		return {
			generation: generation ?? null,
			length: n,
			// nothing new: the reader's last value is still the list's (the script checked it)
			last: values.at(-1) ?? (n === 0 ? null : at.last),
			values,
			rolledBack: rolledBack === 1
		};
	}

	async add(taskId: string, values: readonly string[]): Promise<{ taken: number; generation: string }> {
		const [taken, generation] = await this.#client.acoMasksAdd(
			this.#key(taskId),
			this.#maxValues,
			this.#ttlMs,
			`generation:${randomUUID()}`,
			...values
		);
		return { taken: Number(taken), generation };
	}

	async forget(taskId: string): Promise<void> {
		await this.#client.del(this.#key(taskId));
	}

	close(): Promise<void> {
		this.#closing ??= this.#client.quit().then(
			() => {},
			() => this.#client.disconnect()
		);
		return this.#closing;
	}

	#key(taskId: string): string {
		return `${this.#options.prefix}masks:${taskId}`;
	}
}

/** The registry on the cluster's Redis, connected (or still trying after `startupWaitMs`). */
export async function connectMaskRegistry(options: MaskRegistryOptions): Promise<MaskRegistry> {
	const registry = new RedisMaskRegistry(options);
	await registry.start();
	return registry;
}
