import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeWebSocket } from '../../../../tests/helpers/fake-ws';
import type { AnyDomainEvent } from '../../protocol/events';
import { createLogger } from '../logger';
import { createCounters } from './counters';
import { createHistoryReplayer, OTHER_EPOCH_REASON, TOO_OLD_REASON, type Replayer } from './resume';
import { History } from './history';
import { Router } from './router';
import { Session, type SessionSocket } from './session';
import type { FrameInterceptor } from './types';
import { createEntry, type StreamPosition } from './stream';

const NOW = new Date('2024-01-01T00:00:00.000Z');
const progressEvent: AnyDomainEvent = {
	type: 'task.progress',
	timestamp: NOW.toISOString(),
	data: { task_id: 't1', run_id: null, progress: 1, message: null }
};

function make(replayer?: Replayer, intercept?: FrameInterceptor) {
	const counters = createCounters();
	const position: StreamPosition = { epoch: 'e1', seq: 7 };
	// history holds seqs 6 and 7 of the 7 events so far
	const history = new History({ maxEvents: 2, maxBytes: 1e6, maxAgeMs: 0 });
	for (let seq = 1; seq <= 7; seq++) {
		history.append(createEntry(seq, progressEvent));
	}
	const router = new Router({
		position: () => position,
		replayer: replayer ?? createHistoryReplayer(() => position),
		counters,
		logger: createLogger('silent'),
		now: () => NOW,
		intercept
	});
	const socket = new FakeWebSocket();
	const session = new Session({
		id: 'c1',
		socket: socket as unknown as SessionSocket,
		counters,
		logger: createLogger('silent'),
		history,
		position: () => position.seq,
		onMessage: (s, data, isBinary) => router.handleFrame(s, data, isBinary),
		onClose: () => {}
	});
	const send = (message: unknown) =>
		socket.receive(typeof message === 'string' ? message : JSON.stringify(message));
	const last = () => socket.json().at(-1)!;
	return { session, socket, counters, send, last };
}

describe('Router', () => {
	it('answers a heartbeat with the server time and the ref', () => {
		const { send, last } = make();
		send({ type: 'connection.heartbeat', id: 'h1' });
		expect(last()).toEqual({
			type: 'connection.heartbeat',
			timestamp: NOW.toISOString(),
			data: { server_time: NOW.toISOString(), ref: 'h1' }
		});
	});

	it('stores a subscription under its id (default "default") and confirms it', () => {
		const { session, send, last } = make();
		send({ type: 'subscribe', filter: { task_ids: ['t1'] } });
		expect(last()).toMatchObject({
			type: 'subscribed',
			data: { id: 'default', filter: { task_ids: ['t1'] } }
		});
		expect(session.subscriptions.get('default')).toEqual({ task_ids: ['t1'] });
	});

	it('removes one subscription or all and confirms with the id or null', () => {
		const { session, send, last } = make();
		send({ type: 'subscribe', sub: 'a' });
		send({ type: 'subscribe', sub: 'b' });
		send({ type: 'unsubscribe', sub: 'a' });
		expect(last()).toMatchObject({ type: 'unsubscribed', data: { id: 'a' } });
		send({ type: 'unsubscribe' });
		expect(last()).toMatchObject({ type: 'unsubscribed', data: { id: null } });
		expect(session.subscriptions.size).toBe(0);
	});

	it('resumes a client history covers and resets one it does not, saying how many it missed', async () => {
		const { send, last, counters } = make();
		send({ type: 'resume', epoch: 'e1', seq: 7, id: 'r' });
		expect(last()).toMatchObject({ type: 'resumed', data: { replayed: 0, ref: 'r' } });
		// a replay streams from history; its answer follows the replayed events (none match here)
		send({ type: 'resume', epoch: 'e1', seq: 5 });
		await new Promise((resolve) => setImmediate(resolve));
		expect(last()).toMatchObject({ type: 'resumed', data: { replayed: 0 } });
		send({ type: 'resume', epoch: 'e1', seq: 3 });
		expect(last()).toMatchObject({
			type: 'reset',
			data: { missed: 4, epoch: 'e1', seq: 7, reason: TOO_OLD_REASON }
		});
		send({ type: 'resume', epoch: 'e0', seq: 7 });
		expect(last()).toMatchObject({ type: 'reset', data: { missed: 7, reason: OTHER_EPOCH_REASON } });
		send({ type: 'resume', epoch: 'e1', seq: 8 });
		expect(last()).toMatchObject({ type: 'reset', data: { missed: null } });
		expect([counters.resumes, counters.resets]).toEqual([2, 3]);
	});

	it('answers bad JSON, unknown types, bad payloads and binary frames with errors and counts them', () => {
		const { socket, counters, send } = make();
		send('{');
		send({ type: 'nope', id: 'n' });
		send({ type: 'subscribe', filter: { statuses: ['sleeping'] } });
		send(JSON.stringify([1]));
		socket.receive(Buffer.from('{"type":"connection.heartbeat"}'), true);
		const replies = socket.json<{ type: string; data: { code: string; ref?: string } }>();
		expect(replies.map((r) => r.type)).toEqual(['error', 'error', 'error', 'error', 'error']);
		expect(replies.map((r) => r.data.code)).toEqual([
			'invalid_json',
			'unknown_type',
			'invalid_message',
			'invalid_message',
			'binary_not_supported'
		]);
		expect(replies[1]!.data.ref).toBe('n');
		expect(counters.errors).toBe(5);
	});

	it('names a type that is not a string by its kind, however deeply it nests', () => {
		const { socket, send, last } = make();
		// a 10 KB frame: serialising its type for the error once overflowed the stack and ended the process
		const nested = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
		expect(() => send(`{"type":${nested},"id":"deep"}`)).not.toThrow();
		expect(last()).toMatchObject({ type: 'error', data: { code: 'unknown_type', ref: 'deep' } });
		const message = () => String(last().data?.message);
		expect(message()).toContain('Unknown message type (an array)');
		send({ type: 'x'.repeat(10_000) });
		expect(message().length).toBeLessThan(200);
		send({ type: 'connection.heartbeat', id: 'after' });
		expect(last()).toMatchObject({ type: 'connection.heartbeat', data: { ref: 'after' } });
		expect(socket.readyState).toBe(WebSocket.OPEN);
	});

	it('answers a frame whose handling throws with an internal error instead of throwing', () => {
		const { send, last } = make(undefined, () => {
			throw new Error('producer role failed');
		});
		expect(() => send({ type: 'connection.heartbeat' })).not.toThrow();
		expect(last()).toMatchObject({ type: 'error', data: { code: 'internal', retryable: true } });
	});

	it('turns a failing handler into an internal error reply instead of throwing', () => {
		const { send, last } = make({
			resume: () => {
				throw new Error('history store down');
			}
		});
		expect(() => send({ type: 'resume', epoch: 'e1', seq: 1, id: 'x' })).not.toThrow();
		expect(last()).toMatchObject({ type: 'error', data: { code: 'internal', retryable: true, ref: 'x' } });
	});
});
