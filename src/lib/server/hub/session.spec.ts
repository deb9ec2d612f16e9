import { describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from '../../../../tests/helpers/fake-ws';
import type { AnyDomainEvent } from '../../protocol/events';
import { createLogger } from '../logger';
import { createCounters } from './counters';
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
});
