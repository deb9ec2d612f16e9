import { describe, expect, it } from 'vitest';
import { quietLogger, testPrefix, useTestRedis } from '../bus/redis/test-support';
import {
	connectMaskRegistry,
	type MaskListPosition,
	type MaskRegistry,
	type MaskRegistryOptions
} from './mask-registry';

/** a node that has read nothing */
const START: MaskListPosition = { generation: null, length: 0, last: null };

const redis = useTestRedis();

async function node(prefix: string, options: Partial<MaskRegistryOptions> = {}): Promise<MaskRegistry> {
	return redis.track(
		await connectMaskRegistry({
			url: redis.server.url,
			prefix,
			nodeId: `node-${redis.tracked}`,
			logger: quietLogger,
			...options
		})
	);
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
		expect(await redis.raw.lrange(`${prefix}masks:task_1`, 0, -1)).toEqual([
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
		const ttl = await redis.raw.pttl(key);
		expect(ttl).toBeGreaterThan(0);
		expect(ttl).toBeLessThanOrEqual(60_000);

		await redis.raw.pexpire(key, 5_000);
		await registry.read('t', START);
		expect(await redis.raw.pttl(key)).toBeGreaterThan(5_000);
		await redis.raw.pexpire(key, 5_000);
		await registry.add('t', ['other-secret']);
		expect(await redis.raw.pttl(key)).toBeGreaterThan(5_000);

		await registry.forget('t');
		expect(await redis.raw.exists(key)).toBe(0);
	});

	it('reads whole a list made again (another generation) or rolled back to an older copy, however long', async () => {
		const prefix = testPrefix();
		const key = `${prefix}masks:t`;
		const registry = await node(prefix);
		const old = await registry.add('t', ['one-value']);
		const read = await registry.read('t', START);
		await redis.raw.del(key);
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
		await redis.raw.ltrim(key, 0, 1);
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
		await redis.server.stop();
		try {
			await expect(registry.add('t', ['s3cr3t-value'])).rejects.toThrow();
			await expect(registry.read('t', START)).rejects.toThrow();
		} finally {
			await redis.server.start();
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
