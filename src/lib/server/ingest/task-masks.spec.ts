import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MaskRegistry } from '../masking/mask-registry';
import { isIngestError } from './ingest-error';
import { TaskMasks } from './task-masks';

const logger = pino({ level: 'silent' });

/** Redis's lists as one Map: `down` makes every call reject, as a Redis that cannot be reached */
function memoryRegistry() {
	const lists = new Map<string, string[]>();
	const state = { down: false };
	const reachable = () => {
		if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
	};
	const registry: MaskRegistry = {
		async read(taskId, from) {
			reachable();
			const list = lists.get(taskId) ?? [];
			return { length: list.length, values: list.slice(from > list.length ? 0 : from) };
		},
		async add(taskId, values) {
			reachable();
			lists.set(taskId, [...(lists.get(taskId) ?? []), ...values]);
			return values.length;
		},
		async forget(taskId) {
			lists.delete(taskId);
		},
		async close() {}
	};
	return { registry, lists, state };
}

function nodeMasks(registry: MaskRegistry | null, secrets: string[] = []): TaskMasks {
	return new TaskMasks({ taskId: 't', secrets, registry, logger });
}

describe('TaskMasks', () => {
	it('masks on one node a value another node heard and shared, and never shares the server’s secrets', async () => {
		const { registry, lists } = memoryRegistry();
		const a = nodeMasks(registry, ['server-credential']);
		const b = nodeMasks(registry);
		a.set.add('s3cr3t-value');
		await a.share();
		await b.catchUp();
		expect(b.set.mask('token is s3cr3t-value')).toBe('token is ***');
		expect(lists.get('t')).toEqual(['s3cr3t-value']);

		// nothing new: nothing handed on again, and B reads only past what it holds
		await a.share();
		await b.catchUp();
		expect(lists.get('t')).toEqual(['s3cr3t-value']);
	});

	it('fails with a retryable 503 while the registry cannot be reached, and hands the value on once it can', async () => {
		const { registry, lists, state } = memoryRegistry();
		const a = nodeMasks(registry);
		a.set.add('s3cr3t-value');
		state.down = true;
		const failure = await a.share().then(
			() => null,
			(err: unknown) => err
		);
		expect(isIngestError(failure) && [failure.status, failure.code]).toEqual([503, 'masks_unavailable']);
		// the message names no address
		expect((failure as Error).message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
		await expect(a.catchUp()).rejects.toMatchObject({ status: 503 });

		state.down = false;
		await a.share();
		expect(lists.get('t')).toEqual(['s3cr3t-value']);
	});

	it('hands its values on again when the list began anew (Redis lost it)', async () => {
		const { registry, lists } = memoryRegistry();
		const a = nodeMasks(registry);
		a.set.add('s3cr3t-value');
		await a.share();
		await a.catchUp();
		lists.clear();
		await a.catchUp();
		await a.share();
		const late = nodeMasks(registry);
		await late.catchUp();
		expect(late.set.mask('s3cr3t-value')).toBe('***');
	});

	it('does nothing without a registry (one node)', async () => {
		const alone = nodeMasks(null);
		alone.set.add('s3cr3t-value');
		await alone.share();
		await alone.catchUp();
		expect(alone.set.mask('s3cr3t-value')).toBe('***');
	});
});
