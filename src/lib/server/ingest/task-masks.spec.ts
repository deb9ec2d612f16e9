import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MaskRegistry } from '../masking/mask-registry';
import { memoryMaskRegistry } from '../masking/test-mask-registry';
import { isIngestError } from './ingest-error';
import { TaskMasks } from './task-masks';

const logger = pino({ level: 'silent' });

function nodeMasks(registry: MaskRegistry | null, secrets: string[] = []): TaskMasks {
	return new TaskMasks({ taskId: 't', secrets, registry, logger });
}

describe('TaskMasks', () => {
	it('masks on one node a value another node heard and shared, and never shares the server’s secrets', async () => {
		const { registry, valuesOf } = memoryMaskRegistry();
		const a = nodeMasks(registry, ['server-credential']);
		const b = nodeMasks(registry);
		a.set.add('s3cr3t-value');
		await a.share();
		await b.catchUp();
		expect(b.set.mask('token is s3cr3t-value')).toBe('token is ***');
		expect(valuesOf('t')).toEqual(['s3cr3t-value']);

		// nothing new: nothing handed on again, and B reads only past what it holds
		await a.share();
		await b.catchUp();
		expect(valuesOf('t')).toEqual(['s3cr3t-value']);
	});

	it('fails with a retryable 503 while the registry cannot be reached, and hands the value on once it can', async () => {
		const { registry, valuesOf, state } = memoryMaskRegistry();
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
		expect(valuesOf('t')).toEqual(['s3cr3t-value']);
	});

	it('hands its values on again when the list began anew (Redis lost it)', async () => {
		const { registry, lose } = memoryMaskRegistry();
		const a = nodeMasks(registry);
		a.set.add('s3cr3t-value');
		await a.share();
		await a.catchUp();
		lose();
		await a.catchUp();
		await a.share();
		const late = nodeMasks(registry);
		await late.catchUp();
		expect(late.set.mask('s3cr3t-value')).toBe('***');
	});

	it('tells a list made again from the one it read by its generation, not its length: each node hands its values on and reads all of the new list', async () => {
		const { registry, valuesOf, lose } = memoryMaskRegistry();
		const a = nodeMasks(registry);
		for (const value of ['a-secret-1', 'a-secret-2', 'a-secret-3']) a.set.add(value);
		await a.share();
		await a.catchUp();
		lose();
		// a node that never read the old list hears more values than it held: the new list is longer
		const c = nodeMasks(registry);
		for (const value of ['c-secret-1', 'c-secret-2', 'c-secret-3', 'c-secret-4']) c.set.add(value);
		await c.share();
		await a.catchUp();
		// A reads all of the new list, not from the index it held in the old one
		expect(a.set.mask('c-secret-1 c-secret-3')).toBe('*** ***');
		// and A's values are on the list again before its catch-up resolves
		const late = nodeMasks(registry);
		await late.catchUp();
		expect(late.set.mask('a-secret-1 c-secret-1')).toBe('*** ***');
		expect(valuesOf('t')).toHaveLength(7);
	});

	it('reads whole a list rolled back to an older copy and grown again past its position, and hands on what the copy lacks', async () => {
		const { registry, rollBack } = memoryMaskRegistry();
		const a = nodeMasks(registry);
		const b = nodeMasks(registry);
		for (const value of ['v-secret-1', 'v-secret-2', 'v-secret-3', 'v-secret-4', 'v-secret-5'])
			b.set.add(value);
		await b.share();
		await a.catchUp();
		rollBack('t', 3);
		const c = nodeMasks(registry);
		for (const value of ['w-secret-1', 'w-secret-2', 'w-secret-3']) c.set.add(value);
		await c.share();
		await a.catchUp();
		// the list is longer than A's position: read from there, A would have had only w-secret-3
		expect(a.set.mask('w-secret-1 w-secret-2')).toBe('*** ***');
		const late = nodeMasks(registry);
		await late.catchUp();
		expect(late.set.mask('v-secret-4 v-secret-5')).toBe('*** ***');
	});

	it('finds the list lost when it hands on a value, and hands on every value it holds', async () => {
		const { registry, lose } = memoryMaskRegistry();
		const a = nodeMasks(registry);
		a.set.add('a-secret-1');
		await a.share();
		await a.catchUp();
		lose();
		a.set.add('a-secret-2');
		await a.share();
		const late = nodeMasks(registry);
		await late.catchUp();
		expect(late.set.mask('a-secret-1 a-secret-2')).toBe('*** ***');
	});

	it('keeps each value on the list once, however many nodes hand it on', async () => {
		const { registry, valuesOf } = memoryMaskRegistry();
		const a = nodeMasks(registry);
		const b = nodeMasks(registry);
		a.set.add('s3cr3t-value');
		b.set.add('s3cr3t-value');
		await a.share();
		await b.share();
		await b.catchUp();
		await a.catchUp();
		expect(valuesOf('t')).toEqual(['s3cr3t-value']);
	});

	it('does nothing without a registry (one node)', async () => {
		const alone = nodeMasks(null);
		alone.set.add('s3cr3t-value');
		await alone.share();
		await alone.catchUp();
		expect(alone.set.mask('s3cr3t-value')).toBe('***');
	});
});
