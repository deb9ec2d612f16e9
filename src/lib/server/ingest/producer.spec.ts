import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_KINDS, useStoreBackend } from '../../../../tests/helpers/store-backends';
import { ANONYMOUS_OPERATOR } from '../auth/principal';
import { MemoryBus } from '../bus/memory-bus';
import { createLogger } from '../logger';
import { StoreDataError } from '../store/errors';
import type { Store } from '../store/types';
import {
	MAX_PRODUCER_IN_FLIGHT,
	createProducerHandler,
	type ProducerFrameHandler,
	type ProducerPeer
} from './producer';
import { IngestService } from './service';

/** a store as slow as you like: each applyEvents waits until `release()` */
function slowService() {
	const waiting: (() => void)[] = [];
	let calls = 0;
	const service = {
		applyEvents: () => {
			calls += 1;
			return new Promise((resolve) =>
				waiting.push(() =>
					resolve({ applied: 1, duplicates: 0, ignored: 0, line_counts: {}, cancel_requested: false })
				)
			);
		}
	} as unknown as IngestService;
	return { service, calls: () => calls, release: () => waiting.splice(0).forEach((done) => done()) };
}

function peer() {
	const sent: {
		type: string;
		data: {
			code?: string;
			kind?: string;
			ref?: string;
			retryable?: boolean;
			message?: string;
			task?: { id: string };
		};
	}[] = [];
	const p: ProducerPeer = {
		id: 'p1',
		principal: ANONYMOUS_OPERATOR,
		send: (data) => {
			sent.push(JSON.parse(data));
			return true;
		},
		close: () => {}
	};
	return { p, sent };
}

const events = (id: string) =>
	JSON.stringify({ type: 'ingest.events', id, task_id: 't1', events: [{ type: 'heartbeat' }] });

describe('producer handler', () => {
	it('applies at most a bounded number of one connection’s messages at once and refuses the next, retryably', async () => {
		const slow = slowService();
		const handle = createProducerHandler({
			ingest: slow.service,
			authorize: () => ({ ok: true, authenticated: false }),
			logger: createLogger('silent')
		});
		const { p, sent } = peer();
		for (let i = 0; i < MAX_PRODUCER_IN_FLIGHT + 5; i++) expect(handle(p, events(`m${i}`))).toBe(true);
		await expect.poll(() => slow.calls()).toBe(MAX_PRODUCER_IN_FLIGHT);
		expect(sent).toHaveLength(5);
		expect(
			sent.every((m) => m.type === 'error' && m.data.code === 'too_many_in_flight' && m.data.retryable)
		).toBe(true);
		expect(sent.map((m) => m.data.ref)).toEqual(['m32', 'm33', 'm34', 'm35', 'm36']);
		// another connection is not held up by this one
		const other = peer();
		handle(other.p, events('o1'));
		await expect.poll(() => slow.calls()).toBe(MAX_PRODUCER_IN_FLIGHT + 1);
		// answered: room again
		slow.release();
		await expect.poll(() => sent.filter((m) => m.type === 'ingest.ack').length).toBe(MAX_PRODUCER_IN_FLIGHT);
		handle(p, events('again'));
		await expect.poll(() => slow.calls()).toBe(MAX_PRODUCER_IN_FLIGHT + 2);
		slow.release();
		await expect.poll(() => sent.at(-1)).toMatchObject({ type: 'ingest.ack', data: { ref: 'again' } });
	});
});

describe('producer handler, refusing what cannot be stored', () => {
	const logger = createLogger('silent');
	const authorize = () => ({ ok: true, authenticated: false }) as const;

	/** sends `message` with id `ref` and resolves with the answer to it */
	async function answer(handle: ProducerFrameHandler, ref: string, message: object) {
		const { p, sent } = peer();
		handle(p, JSON.stringify({ ...message, id: ref }));
		// a few statements on a real database: give a loaded machine time
		await expect.poll(() => sent.length, { timeout: 10_000 }).toBe(1);
		return sent[0];
	}

	it('answers a value the database refused with an error not to retry, naming the value', async () => {
		const refusing = {
			applyEvents: () =>
				Promise.reject(
					new StoreDataError(
						Object.assign(new Error('value "3000000000" is out of range for type integer'), { code: '22003' })
					)
				)
		} as unknown as IngestService;
		const handle = createProducerHandler({ ingest: refusing, authorize, logger });
		expect(await answer(handle, 'e1', JSON.parse(events('e1')))).toMatchObject({
			type: 'error',
			data: {
				ref: 'e1',
				code: 'invalid_data',
				retryable: false,
				message: expect.stringContaining('"3000000000" is out of range')
			}
		});
	});

	describe.each(STORE_KINDS)('on the %s store', (kind) => {
		const backend = useStoreBackend(kind);
		let store: Store;
		let service: IngestService;
		let handle: ProducerFrameHandler;
		beforeEach(async () => {
			store = await backend.open();
			service = new IngestService({ store, bus: new MemoryBus(), logger });
			handle = createProducerHandler({ ingest: service, authorize, logger });
		});
		afterEach(async () => {
			service.close();
			await store.close();
		});

		const invalid = (field: string) => ({
			type: 'error',
			data: {
				code: 'invalid_message',
				retryable: false,
				message: expect.stringContaining(`${field}: contains a NUL character`)
			}
		});

		it('refuses a NUL in a task’s name, message or key, and in an event’s text, naming the field, not to retry', async () => {
			const create = (task: object) => answer(handle, 'c', { type: 'ingest.create_task', task });
			expect(await create({ name: 'a\u0000b' })).toMatchObject(invalid('task.name'));
			expect(await create({ name: 'a', message: 'm\u0000' })).toMatchObject(invalid('task.message'));
			expect(await create({ name: 'a', idempotency_key: 'k\u0000' })).toMatchObject(
				invalid('task.idempotency_key')
			);
			expect(await store.listTasks()).toEqual([]);

			const created = await create({ name: 'fine' });
			const taskId = created.data.task!.id;
			const send = (list: object[]) =>
				answer(handle, 'e', { type: 'ingest.events', task_id: taskId, events: list });
			expect(await send([{ type: 'tool.start', step: 0, name: 's\u0000' }])).toMatchObject(
				invalid('events.0.name')
			);
			expect(await send([{ type: 'progress', message: 'p\u0000' }])).toMatchObject(
				invalid('events.0.message')
			);
			expect(await send([{ type: 'status', status: 'failed', error: 'e\u0000' }])).toMatchObject(
				invalid('events.0.error')
			);
			expect(await store.getTask(taskId)).toMatchObject({ status: 'running', message: null, error: null });
		});

		it('stores output lines whose workflow commands hold NUL whole, and a ::progress message without it', async () => {
			const created = await answer(handle, 'c', { type: 'ingest.create_task', task: { name: 't' } });
			const taskId = created.data.task!.id;
			const texts = [
				'before',
				'::error::bad\u0000x',
				'::group::g\u0000x',
				'::progress value=5::a\u0000b',
				'after'
			];
			const applied = await answer(handle, 'e', {
				type: 'ingest.events',
				task_id: taskId,
				events: [
					{ type: 'tool.start', step: 0, name: 'tool' },
					{ type: 'output', step: 0, lines: texts.map((text, i) => ({ n: i + 1, text })) }
				]
			});
			expect(applied).toMatchObject({ type: 'ingest.ack', data: { line_counts: { 0: 5 } } });
			const [execution] = await store.listExecutions(taskId);
			expect((await store.readLogLines(execution.id)).map((line) => line.text)).toEqual(texts);
			expect(await store.readLogOutline(execution.id)).toMatchObject({
				groups: [{ name: 'gx', start: 3 }],
				annotations: [{ line: 2, level: 'error', message: 'badx' }]
			});
			expect(await store.getTask(taskId)).toMatchObject({ progress: 5, message: 'ab' });
		});
	});
});
