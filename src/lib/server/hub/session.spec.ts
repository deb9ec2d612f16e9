import { describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from '../../../../tests/helpers/fake-ws';
import type { AnyDomainEvent } from '../../protocol/events';
import { createLogger } from '../logger';
import { createCounters } from './counters';
import type { Task } from '../../protocol/models';
import { FilterIndex } from './filter-index';
import type { HistoryEntry } from './history';
import { HubError } from './hub-error';
import { Session, type SessionOptions, type SessionSocket } from './session';

function make(overrides: Partial<SessionOptions> = {}) {
	const socket = new FakeWebSocket();
	const counters = createCounters();
	const onMessage = vi.fn();
	const onClose = vi.fn();
	let now = 1_000;
	const session = new Session({
		id: 'c1',
		socket: socket as unknown as SessionSocket,
		counters,
		logger: createLogger('silent'),
		onMessage,
		onClose,
		now: () => now,
		...overrides
	});
	return { session, socket, counters, onMessage, onClose, advance: (ms: number) => (now += ms) };
}

const progress = (taskId: string): AnyDomainEvent => ({
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: taskId, run_id: null, progress: 1, message: null }
});

describe('Session', () => {
	it('sends text frames and counts them, including Buffers', () => {
		const { session, socket, counters } = make();
		expect(session.send('{"a":"é"}')).toBe(true);
		expect(session.send(Buffer.from('{}'))).toBe(true);
		expect(socket.sent.map((f) => f.binary)).toEqual([false, false]);
		expect(counters.messagesSent).toBe(2);
		expect(counters.bytesSent).toBe(Buffer.byteLength('{"a":"é"}') + 2);
	});

	it('sends nothing once closing, and nothing when the socket is no longer open', () => {
		const { session, socket } = make();
		socket.readyState = 2;
		expect(session.send('x')).toBe(false);
		socket.readyState = 1;
		session.close(1000);
		expect(session.send('x')).toBe(false);
		expect(socket.sent).toHaveLength(0);
	});

	it('closes once, however often close is called, and frees its subscriptions', () => {
		const { session, socket, onClose } = make();
		session.subscribe('s', {});
		session.close(4000, 'idle');
		session.close(1001, 'again');
		expect(socket.closeCalls).toEqual([{ code: 4000, reason: 'idle' }]);
		expect(session.state).toBe('closing');
		expect(session.subscriptions.size).toBe(0);
		socket.finishClose();
		socket.finishClose();
		expect(onClose).toHaveBeenCalledTimes(1);
		expect(onClose).toHaveBeenCalledWith(session, 4000, 'idle');
		expect(session.state).toBe('closed');
	});

	it('resolves closed when the socket has closed', async () => {
		const { session, socket } = make();
		let done = false;
		void session.closed.then(() => (done = true));
		await Promise.resolve();
		expect(done).toBe(false);
		socket.terminate();
		await session.closed;
		expect(done).toBe(true);
	});

	it('cuts a close reason to the 123 bytes a close frame can carry, on a character boundary', () => {
		const { session, socket } = make();
		session.close(4000, 'é'.repeat(100));
		const reason = socket.closeCalls[0]!.reason!;
		expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
		expect(reason).toBe('é'.repeat(61));
	});

	it('terminates the socket when ws refuses the close code', () => {
		const { session, socket } = make();
		socket.close = () => {
			throw new TypeError('invalid code');
		};
		session.close(1005);
		expect(socket.terminated).toBe(true);
	});

	it('survives a socket error and counts it', () => {
		const { socket, counters } = make();
		expect(() => socket.emit('error', new Error('ECONNRESET'))).not.toThrow();
		expect(counters.errors).toBe(1);
	});

	it('marks the time of every inbound frame and counts it before handing it on', () => {
		const { session, socket, counters, onMessage, advance } = make();
		advance(500);
		socket.receive('{"type":"connection.heartbeat"}');
		expect(session.lastSeenAt).toBe(1_500);
		expect(counters.messagesReceived).toBe(1);
		expect(counters.bytesReceived).toBe(31);
		expect(onMessage).toHaveBeenCalledWith(session, expect.any(Buffer), false);
	});

	it('awaits a pong after a ping, and a pong does not count as activity', () => {
		const { session, socket, advance } = make();
		session.ping();
		expect(socket.pings).toBe(1);
		expect(session.awaitingPong).toBe(true);
		advance(100);
		socket.pong();
		expect(session.awaitingPong).toBe(false);
		expect(session.lastSeenAt).toBe(1_000);
	});

	it('holds at most the configured subscriptions but lets one be replaced at the limit', () => {
		const { session } = make({ maxSubscriptions: 2 });
		session.subscribe('a', {});
		session.subscribe('b', {});
		expect(() => session.subscribe('c', {})).toThrow(HubError);
		session.subscribe('a', { task_ids: ['t'] });
		expect(session.subscriptions.get('a')).toEqual({ task_ids: ['t'] });
	});

	it('removes one subscription or all, and reports an unknown one', () => {
		const { session } = make();
		session.subscribe('a', {});
		session.subscribe('b', {});
		expect(session.unsubscribe('a')).toEqual(['a']);
		expect(() => session.unsubscribe('a')).toThrow(/no subscription "a"/);
		expect(session.unsubscribe()).toEqual(['b']);
		expect(session.subscriptions.size).toBe(0);
	});

	it('wants an event when any subscription matches and none without subscriptions', () => {
		const { session } = make();
		expect(session.wants(progress('t1'))).toBe(false);
		session.subscribe('a', { task_ids: ['t2'] });
		expect(session.wants(progress('t1'))).toBe(false);
		session.subscribe('b', { task_ids: ['t1'] });
		expect(session.wants(progress('t1'))).toBe(true);
	});

	it('writes the events of one tick as one batch frame, at once, and at most batchMaxEvents per frame', async () => {
		const { session, socket, counters } = make({ batchMaxEvents: 3 });
		for (let seq = 1; seq <= 4; seq++) session.deliver(entry(seq, progress(`t${seq}`)));
		expect(socket.sent).toHaveLength(0);
		await flushed();
		const frames = socket.json<{ type: string; seq?: number; events?: { seq: number }[] }>();
		expect(frames.map((f) => f.events?.map((e) => e.seq) ?? f.seq)).toEqual([[1, 2, 3], 4]);
		expect([counters.eventsDelivered, counters.batchesSent, counters.messagesSent]).toEqual([4, 1, 2]);
	});

	it('holds events while the socket is backed up and writes them once it drains', async () => {
		const { session, socket } = make({ batchFlushMs: 5, writeHighWaterBytes: 100 });
		socket.bufferedAmount = 1000;
		session.deliver(entry(1, progress('t1')));
		await flushed();
		expect(socket.sent).toHaveLength(0);
		socket.bufferedAmount = 0;
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(socket.json().map((f) => (f as { seq?: number }).seq)).toEqual([1]);
	});

	it('drops old low events for a full queue with one notice, and closes with 4002 rather than lose a failure', async () => {
		const { session, socket, counters } = make({ queueMaxMessages: 2, writeHighWaterBytes: 100 });
		socket.bufferedAmount = 1000;
		session.deliver(entry(1, output(1)));
		session.deliver(entry(2, output(2)));
		session.deliver(entry(3, output(3)));
		expect(counters.eventsDropped).toBe(1);
		socket.bufferedAmount = 0;
		await flushed();
		const frames = socket.json<{ type: string; data?: unknown; events?: { seq: number }[] }>();
		expect(frames[0]).toMatchObject({ type: 'dropped', data: { count: 1, from_seq: 1, to_seq: 1 } });
		expect(frames[1]!.events?.map((e) => e.seq)).toEqual([2, 3]);
		socket.bufferedAmount = 1000;
		session.deliver(entry(4, failed()));
		session.deliver(entry(5, failed()));
		expect(session.state).toBe('open');
		session.deliver(entry(6, failed()));
		expect(socket.closeCalls).toEqual([{ code: 4002, reason: expect.stringContaining('resume') }]);
		expect(counters.slowConsumerCloses).toBe(1);
	});

	it('replays only what did not reach it live, ahead of newer queued events', async () => {
		let seq = 5;
		const { session, socket } = make({ position: () => seq });
		session.subscribe('a', { task_ids: ['t1'] });
		seq = 6;
		session.deliver(entry(6, progress('t1')));
		const history = [4, 5, 6].map((n) => entry(n, progress('t1')));
		expect(session.replay(history)).toBe(2);
		session.endResumeWindow();
		await flushed();
		const frames = socket.json<{ events?: { seq: number }[] }>();
		expect(frames[0]!.events?.map((e) => e.seq)).toEqual([4, 5, 6]);
	});

	it('holds live events from the first subscription until the resume window ends, then refuses an overtaken replay', async () => {
		const { session, socket } = make({ position: () => 9 });
		session.subscribe('a', {});
		session.deliver(entry(10, progress('t1')));
		await flushed();
		expect(socket.sent).toHaveLength(0);
		session.endResumeWindow();
		await flushed();
		expect(session.replay([entry(9, progress('t1'))])).toBeNull();
	});

	it('throttles a flooding client with one error, then closes it with 4003', () => {
		const { session, socket, onMessage, counters } = make({
			rateLimit: { perSecond: 1, burst: 2, maxViolations: 3 }
		});
		for (let i = 0; i < 6; i++) socket.receive('{"type":"connection.heartbeat"}');
		expect(onMessage).toHaveBeenCalledTimes(2);
		expect(socket.json().filter((f) => f.type === 'error')).toHaveLength(1);
		expect(counters.rateLimitViolations).toBe(4);
		expect(socket.closeCalls.map((c) => c.code)).toEqual([4003]);
		expect(session.state).toBe('closing');
	});

	it('frees its queue, timer and index entries when it closes', async () => {
		const index = new FilterIndex<Session>();
		const { session, socket } = make({ index, batchFlushMs: 10_000, writeHighWaterBytes: 1 });
		session.subscribe('a', {});
		socket.bufferedAmount = 10;
		session.deliver(entry(1, progress('t1')));
		await flushed();
		expect(session.queueDepth).toBe(1);
		socket.finishClose(1006, '');
		expect([session.queueDepth, index.size, session.subscriptionCount]).toEqual([0, 0, 0]);
	});
});

const flushed = () => new Promise((resolve) => setImmediate(resolve));

function entry(seq: number, event: AnyDomainEvent): HistoryEntry {
	return { seq, event, frame: Buffer.from(JSON.stringify({ type: event.type, seq })), at: 0, storedAt: 0 };
}

function output(line: number): AnyDomainEvent {
	return {
		type: 'tool.output',
		timestamp: '2024-01-01T00:00:00.000Z',
		data: {
			task_id: 't1',
			run_id: null,
			execution_id: 'x1',
			line,
			output: 'x',
			is_stderr: false,
			timestamp: '2024-01-01T00:00:00.000Z'
		}
	};
}

function failed(): AnyDomainEvent {
	return {
		type: 'task.failed',
		timestamp: '2024-01-01T00:00:00.000Z',
		data: { task_id: 't1', run_id: null, status: 'failed', error: 'x', duration_ms: 1, task: {} as Task }
	};
}
