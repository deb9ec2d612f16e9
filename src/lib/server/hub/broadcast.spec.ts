import { describe, expect, it } from 'vitest';
import { FakeWebSocket } from '../../../../tests/helpers/fake-ws';
import type { AnyDomainEvent } from '../../protocol/events';
import { MemoryBus } from '../bus/memory-bus';
import { createLogger } from '../logger';
import { Broadcaster, createEpoch } from './broadcast';
import { createCounters } from './counters';
import { FilterIndex } from './filter-index';
import { History } from './history';
import { LocalNumbering } from './stream';
import { Session, type SessionSocket } from './session';

/** Sessions write in a microtask after the events of a tick were queued. */
const flushed = () => new Promise((resolve) => setImmediate(resolve));

const progress = (taskId: string, value = 1): AnyDomainEvent => ({
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: taskId, run_id: null, progress: value, message: null }
});

function make() {
	const bus = new MemoryBus({
		onError: (err) => {
			throw err;
		}
	});
	const counters = createCounters();
	const index = new FilterIndex<Session>();
	const history = new History({ maxEvents: 100, maxBytes: 1e6, maxAgeMs: 0 });
	const sessions: Session[] = [];
	const sockets: FakeWebSocket[] = [];
	const add = (taskIds?: string[]) => {
		const socket = new FakeWebSocket();
		const session = new Session({
			id: `c${sessions.length}`,
			socket: socket as unknown as SessionSocket,
			counters,
			index,
			history,
			position: () => broadcaster.seq,
			batchMaxEvents: 1,
			logger: createLogger('silent'),
			onMessage: () => {},
			onClose: () => {}
		});
		if (taskIds) session.subscribe('s', { task_ids: taskIds });
		session.endResumeWindow();
		sessions.push(session);
		sockets.push(socket);
		return socket;
	};
	const broadcaster = new Broadcaster({
		source: new LocalNumbering(bus, 'e1'),
		index,
		history,
		counters,
		logger: createLogger('silent')
	});
	broadcaster.start();
	const publish = (event: AnyDomainEvent) => {
		const before = counters.eventsByType[event.type] ?? 0;
		bus.publish(event);
		return (counters.eventsByType[event.type] ?? 0) - before;
	};
	return { bus, counters, broadcaster, add, sessions, history, index, publish };
}

describe('Broadcaster', () => {
	it('numbers events from the bus and sends the envelope to matching sessions only', async () => {
		const { bus, broadcaster, add, history } = make();
		const t1 = add(['t1']);
		const t2 = add(['t2']);
		const none = add();
		bus.publish(progress('t1'));
		bus.publish(progress('t2'));
		bus.publish(progress('t1', 2));
		await flushed();
		expect(history.readAfter(0, 10)?.map((e) => e.seq)).toEqual([1, 2, 3]);
		expect(t1.json()).toEqual([
			{ type: 'task.progress', seq: 1, timestamp: '2024-01-01T00:00:00.000Z', data: progress('t1').data },
			{ type: 'task.progress', seq: 3, timestamp: '2024-01-01T00:00:00.000Z', data: progress('t1', 2).data }
		]);
		expect(t2.json().map((e) => (e as { seq?: number }).seq)).toEqual([2]);
		expect(none.sent).toEqual([]);
		expect(broadcaster.position).toEqual({ epoch: 'e1', seq: 3 });
	});

	it('serialises an event once and sends the same bytes to every recipient', async () => {
		const { broadcaster, add } = make();
		const a = add(['t1']);
		const b = add(['t1']);
		expect(broadcaster.publish(1, progress('t1'))).toBe(2);
		await flushed();
		expect(a.sent[0]!.data).toBeInstanceOf(Buffer);
		expect(a.sent[0]!.data).toBe(b.sent[0]!.data);
	});

	it('counts events by type once per event, whoever receives them', async () => {
		const { publish, counters, add } = make();
		add(['t1']);
		add(['t1']);
		publish(progress('t1'));
		publish(progress('nobody'));
		await flushed();
		expect(counters.eventsByType).toEqual({ 'task.progress': 2 });
		expect(counters.messagesSent).toBe(2);
	});

	it('keeps sending to the others when one session fails', async () => {
		const { broadcaster, counters, add, sessions } = make();
		add(['t1']);
		const healthy = add(['t1']);
		sessions[0]!.deliver = () => {
			throw new Error('socket exploded');
		};
		expect(broadcaster.publish(1, progress('t1'))).toBe(1);
		await flushed();
		expect(healthy.sent).toHaveLength(1);
		expect(counters.errors).toBe(1);
	});

	it('asks the index, not every session, and forgets a closed session', async () => {
		const { broadcaster, add, sessions, index } = make();
		const socket = add(['t1']);
		expect(index.size).toBe(1);
		sessions[0]!.close(1000);
		socket.finishClose();
		expect(index.size).toBe(0);
		expect(broadcaster.publish(1, progress('t1'))).toBe(0);
	});

	it('stops taking events from the bus after stop()', () => {
		const { bus, broadcaster, add } = make();
		const socket = add(['t1']);
		broadcaster.stop();
		bus.publish(progress('t1'));
		expect(socket.sent).toEqual([]);
		expect(broadcaster.position.seq).toBe(0);
	});

	it('makes a different epoch each time', () => {
		expect(createEpoch()).not.toBe(createEpoch());
		expect(createEpoch()).toMatch(/^[A-Za-z0-9_-]{12}$/);
	});
});
