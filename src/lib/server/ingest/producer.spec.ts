import { describe, expect, it } from 'vitest';
import { ANONYMOUS_OPERATOR } from '../auth/principal';
import { createLogger } from '../logger';
import { MAX_PRODUCER_IN_FLIGHT, createProducerHandler, type ProducerPeer } from './producer';
import type { IngestService } from './service';

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
	const sent: { type: string; data: { code?: string; kind?: string; ref?: string; retryable?: boolean } }[] =
		[];
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
