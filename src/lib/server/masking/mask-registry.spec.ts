import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../../tests/helpers/redis';
import { quietLogger, rawClient, testPrefix } from '../bus/redis/test-support';
import {
	connectMaskRegistry,
	type MaskListPosition,
	type MaskRegistry,
	type MaskRegistryOptions
} from './mask-registry';

/** a node that has read nothing */
const START: MaskListPosition = { generation: null, length: 0, last: null };

let redis: RedisServer;
let raw: Redis;
const open: MaskRegistry[] = [];

beforeAll(async () => {
	redis = await startRedis();
	raw = rawClient(redis.url);
});

afterAll(async () => {
	raw?.disconnect();
	await redis?.close();
});

afterEach(async () => {
	await Promise.all(open.splice(0).map((registry) => registry.close()));
});

async function node(prefix: string, options: Partial<MaskRegistryOptions> = {}): Promise<MaskRegistry> {
	const registry = await connectMaskRegistry({
		url: redis.url,
		prefix,
		nodeId: `node-${open.length}`,
		logger: quietLogger,
		...options
	});
	open.push(registry);
	return registry;
}

describe('mask registry', () => {
	it('hands a value added on one node to another, and each read only what came after the position it holds', async () => {
		const prefix = testPrefix();
		const a = await node(prefix);
		const b = await node(prefix);
		expect(await b.read('task_1', START)).toEqual({ ...START, values: [], rolledBack: false });

		const first = await a.add('task_1', ['s3cr3t-value', 'other-secret']);
		expect(first).toEqual({ taken: 2, generation: expect.stringMatching(/^generation:/) });
		const { generation } = first;
		const read = await b.read('task_1', START);
		expect(read).toEqual({
			generation,
			length: 2,
			last: 'other-secret',
			values: ['s3cr3t-value', 'other-secret'],
			rolledBack: false
		});
		expect(await b.read('task_1', read)).toEqual({ ...read, values: [] });

		expect(await b.add('task_1', ['third-secret'])).toEqual({ taken: 1, generation });
		expect(await a.read('task_1', read)).toEqual({
			generation,
			length: 3,
			last: 'third-secret',
			values: ['third-secret'],
			rolledBack: false
		});
		// another task's values are its own
		expect((await a.read('task_2', START)).values).toEqual([]);
		// kept under the configured prefix, after the entry naming the list's generation
		expect(await raw.lrange(`${prefix}masks:task_1`, 0, -1)).toEqual([
			generation,
			's3cr3t-value',
			'other-secret',
			'third-secret'
		]);
	});

	it('keeps each value once, and at most the cap of values per task', async () => {
		const registry = await node(testPrefix(), { maxValues: 3 });
		expect((await registry.add('t', ['one-value', 'two-value', 'one-value'])).taken).toBe(2);
		expect((await registry.add('t', ['two-value', 'three-value', 'four-value'])).taken).toBe(1);
		expect((await registry.add('t', ['five-value'])).taken).toBe(0);
		expect((await registry.read('t', START)).values).toEqual(['one-value', 'two-value', 'three-value']);
	});

	it('lets a task’s values expire, renews them on each read and add, and removes them when told', async () => {
		const prefix = testPrefix();
		const registry = await node(prefix, { ttlMs: 60_000 });
		const key = `${prefix}masks:t`;
		await registry.add('t', ['s3cr3t-value']);
		const ttl = await raw.pttl(key);
		expect(ttl).toBeGreaterThan(0);
		expect(ttl).toBeLessThanOrEqual(60_000);

		await raw.pexpire(key, 5_000);
		await registry.read('t', START);
		expect(await raw.pttl(key)).toBeGreaterThan(5_000);
		await raw.pexpire(key, 5_000);
		await registry.add('t', ['other-secret']);
		expect(await raw.pttl(key)).toBeGreaterThan(5_000);

		await registry.forget('t');
		expect(await raw.exists(key)).toBe(0);
	});

	it('reads whole a list made again (another generation) or rolled back to an older copy, however long', async () => {
		const prefix = testPrefix();
		const key = `${prefix}masks:t`;
		const registry = await node(prefix);
		const old = await registry.add('t', ['one-value']);
		const read = await registry.read('t', START);
		await raw.del(key);
		const again = await registry.add('t', ['two-value', 'three-value', 'four-value']);
		expect(again.generation).not.toBe(old.generation);
		expect(await registry.read('t', read)).toEqual({
			generation: again.generation,
			length: 3,
			last: 'four-value',
			values: ['two-value', 'three-value', 'four-value'],
			rolledBack: false
		});

		// an older copy of the same generation, grown again past the reader's position
		const at = await registry.read('t', START);
		await raw.ltrim(key, 0, 1);
		await registry.add('t', ['five-value', 'six-value', 'seven-value']);
		expect(await registry.read('t', at)).toEqual({
			generation: again.generation,
			length: 4,
			last: 'seven-value',
			values: ['two-value', 'five-value', 'six-value', 'seven-value'],
			rolledBack: true
		});
	});

	it('rejects promptly while Redis is down, and works again once it is back', async () => {
		const registry = await node(testPrefix(), { commandTimeoutMs: 1_000 });
		await redis.stop();
		try {
			await expect(registry.add('t', ['s3cr3t-value'])).rejects.toThrow();
			await expect(registry.read('t', START)).rejects.toThrow();
		} finally {
			await redis.start();
		}
		await expect
			.poll(
				() =>
					registry.add('t', ['s3cr3t-value']).then(
						({ taken }) => taken,
						() => -1
					),
				{ timeout: 20_000 }
			)
			.toBe(1);
		expect((await registry.read('t', START)).values).toEqual(['s3cr3t-value']);
	});
});
