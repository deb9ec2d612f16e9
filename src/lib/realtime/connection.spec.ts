import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultHubUrl, RealtimeConnection } from './connection.svelte';
import { connectionHarness } from './test-connection';

const task = { task_id: 't1', run_id: null, progress: 10, message: null };

const setup = connectionHarness;

describe('RealtimeConnection', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('derives the hub URL from the page origin, wss on https', () => {
		expect(defaultHubUrl({ protocol: 'http:', host: 'localhost:3000' })).toBe('ws://localhost:3000/ws');
		expect(defaultHubUrl({ protocol: 'https:', host: 'aco.example' })).toBe('wss://aco.example/ws');
	});

	it('can be made, subscribed to and read without a page (server rendering), opening nothing', () => {
		const connection = new RealtimeConnection();
		connection.subscribe('dash', { types: ['task.*'] });
		expect(connection.status).toBe('connecting');
		expect(connection.secondsUntilRetry).toBeNull();
		connection.retryNow();
		connection.unsubscribe('dash');
		connection.destroy();
		expect(connection.offlineReason).toBe('destroyed');
	});

	it('is connecting until the welcome arrives, then connected', () => {
		const { connection, factory, accept } = setup();
		connection.connect();
		expect(factory.sockets).toHaveLength(1);
		expect(factory.last.url).toBe('ws://aco.test/ws');
		expect(connection.state).toBe('connecting');
		accept({ client_id: 'abc' });
		expect(connection.state).toBe('connected');
		expect(connection.clientId).toBe('abc');
		connection.destroy();
	});

	it('sends a heartbeat at the interval the welcome names', () => {
		const { connection, accept } = setup();
		connection.connect();
		const socket = accept({ heartbeat_interval_ms: 1000 });
		vi.advanceTimersByTime(3500);
		const beats = socket.sentOfType('connection.heartbeat');
		expect(beats).toHaveLength(3);
		expect(typeof beats[0].timestamp).toBe('string');
		connection.destroy();
	});

	it('sends remembered subscriptions after the welcome and again after every reconnect', () => {
		const { connection, factory, accept } = setup();
		connection.subscribe('dash', { types: ['task.*'] });
		connection.connect();
		const first = accept();
		expect(first.sentOfType('subscribe')).toEqual([
			{ type: 'subscribe', sub: 'dash', filter: { types: ['task.*'] }, id: 'sub:dash' }
		]);

		connection.subscribe('task:t1', { task_ids: ['t1'] });
		connection.unsubscribe('dash');
		expect(first.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', sub: 'dash' }]);

		first.serverClose(1006);
		vi.runOnlyPendingTimers();
		const second = accept();
		expect(factory.sockets).toHaveLength(2);
		expect(second.sentOfType('subscribe').map((m) => m.sub)).toEqual(['task:t1']);
		connection.destroy();
	});

	it('asks stores to reload once the subscriptions made before the first connect are all confirmed', () => {
		const { connection, accept } = setup();
		const reasons: string[] = [];
		connection.onReconnected((reason) => reasons.push(reason));
		connection.subscribe('dash', { types: ['task.*'] });
		connection.subscribe('task:t1', { task_ids: ['t1'] });
		connection.connect();
		const socket = accept();
		const confirm = (id: string) =>
			socket.receive({ type: 'subscribed', timestamp: new Date().toISOString(), data: { id, filter: {} } });
		confirm('dash');
		expect(reasons).toEqual([]);
		confirm('task:t1');
		expect(reasons).toEqual(['subscribed']);
		// a subscription made on the open connection reloads its own store once confirmed (it
		// shares task:t1's hub subscription), not every store; repeated confirmations ask for nothing
		const reloads: string[] = [];
		connection.subscribe('task:t2', { task_ids: ['t2'] }, { reload: () => reloads.push('task:t2') });
		expect(reloads).toEqual([]);
		confirm('task:t1');
		confirm('task:t1');
		confirm('dash');
		expect(reloads).toEqual(['task:t2']);
		expect(reasons).toEqual(['subscribed']);
		// one that names no reload of its own has every store reload
		connection.subscribe('task:t3', { task_ids: ['t3'] });
		confirm('task:t1');
		expect(reasons).toEqual(['subscribed', 'subscribed']);
		connection.destroy();
	});

	it('reloads a subscription the socket dropped before confirming once the next one confirms it, after its resume too', () => {
		// the resume starts after the newest seq the tab saw on any subscription: an event for one
		// the hub had not taken yet may lie before it, and the replay would not bring it
		const { connection, accept } = setup();
		const reasons: string[] = [];
		const reloads: string[] = [];
		connection.onReconnected((reason) => reasons.push(reason));
		connection.connect();
		const first = accept({ epoch: 'e1', seq: 3 });
		connection.subscribe('task:t1', { task_ids: ['t1'] }, { reload: () => reloads.push('task:t1') });
		first.serverClose(1006);
		vi.runOnlyPendingTimers();
		// made while the socket is down: it goes ahead of the resume too
		connection.subscribe('task:t2', { task_ids: ['t2'] }, { reload: () => reloads.push('task:t2') });
		const second = accept({ epoch: 'e1', seq: 5 });
		// made once the resume went
		connection.subscribe('task:t3', { task_ids: ['t3'] }, { reload: () => reloads.push('task:t3') });
		// task pages share one hub subscription listing their ids
		expect(second.sent.map((m) => (m.type === 'subscribe' ? m.filter : m.type))).toEqual([
			{ task_ids: ['t1', 't2'] },
			'resume',
			{ task_ids: ['t1', 't2', 't3'] }
		]);
		for (const { sub, filter } of second.sentOfType('subscribe')) {
			second.receive({ type: 'subscribed', timestamp: '', data: { id: sub, filter } });
		}
		second.resumed(2);
		// each page once, whichever of the union's answers covered it; no other store
		expect(reloads.sort()).toEqual(['task:t1', 'task:t2', 'task:t3']);
		expect(reasons).toEqual([]);
		connection.destroy();
	});

	it('delivers every event, unpacking batches, and tracks the newest seq', () => {
		const { connection, accept } = setup();
		const seen: number[] = [];
		connection.onEvent((e) => seen.push(e.seq));
		connection.connect();
		const socket = accept({ seq: 4 });
		socket.event({ type: 'task.progress', seq: 5, data: task });
		socket.receive({
			type: 'batch',
			events: [
				{ type: 'task.progress', seq: 6, timestamp: '', data: task },
				{ type: 'task.progress', seq: 7, timestamp: '', data: task }
			]
		});
		expect(seen).toEqual([5, 6, 7]);
		expect(connection.seq).toBe(7);
		connection.destroy();
	});

	it('ignores events it has already seen (a replay overlap)', () => {
		const { connection, accept } = setup();
		const seen: number[] = [];
		connection.onEvent((e) => seen.push(e.seq));
		connection.connect();
		const socket = accept({ seq: 0 });
		socket.event({ type: 'task.progress', seq: 1, data: task });
		socket.event({ type: 'task.progress', seq: 2, data: task });
		socket.event({ type: 'task.progress', seq: 2, data: task });
		socket.event({ type: 'task.progress', seq: 1, data: task });
		expect(seen).toEqual([1, 2]);
		connection.destroy();
	});

	it('shows a countdown and reconnects after the backoff delay when the connection drops', () => {
		const { connection, factory, accept } = setup({ backoff: { random: () => 0.999, baseMs: 4000 } });
		connection.connect();
		accept();
		factory.last.serverClose(1006, 'gone');
		expect(connection.state).toBe('reconnecting');
		expect(connection.lastClose).toEqual({ code: 1006, reason: 'gone' });
		expect(connection.attempt).toBe(1);
		expect(connection.secondsUntilRetry).toBe(4);
		vi.advanceTimersByTime(1100);
		expect(connection.secondsUntilRetry).toBe(3);
		expect(factory.sockets).toHaveLength(1);
		vi.advanceTimersByTime(3000);
		expect(factory.sockets).toHaveLength(2);
		expect(connection.secondsUntilRetry).toBeNull();
		connection.destroy();
	});

	it('does not reconnect after a close code in the 4500–4999 range', () => {
		const { connection, factory, accept } = setup();
		connection.connect();
		accept();
		factory.last.serverClose(4502, 'protocol violation');
		expect(connection.state).toBe('offline');
		expect(connection.offlineReason).toBe('closed');
		vi.advanceTimersByTime(120_000);
		expect(factory.sockets).toHaveLength(1);
		connection.destroy();
	});

	it('stays offline after a 4500–4999 close when the network drops and comes back; Retry now still tries', () => {
		const { connection, factory, accept, setOnline } = setup();
		connection.connect();
		accept();
		factory.last.serverClose(4501, 'origin not allowed');
		setOnline(false);
		setOnline(true);
		vi.advanceTimersByTime(120_000);
		expect(factory.sockets).toHaveLength(1);
		expect(connection.state).toBe('offline');
		expect(connection.offlineReason).toBe('closed');
		connection.retryNow();
		expect(factory.sockets).toHaveLength(2);
		connection.destroy();
	});

	it('reconnects after a server restart (1012) and a slow-consumer close (4002)', () => {
		const { connection, factory, accept } = setup();
		connection.connect();
		accept();
		factory.last.serverClose(1012);
		vi.runOnlyPendingTimers();
		accept();
		factory.last.serverClose(4002);
		vi.runOnlyPendingTimers();
		expect(factory.sockets).toHaveLength(3);
		connection.destroy();
	});

	it('grows the delay while attempts fail and starts over after a connection that stayed up', () => {
		const { connection, factory, accept } = setup({ backoff: { random: () => 0.999 }, stableAfterMs: 5000 });
		connection.connect();
		accept();
		const windows: number[] = [];
		for (let i = 0; i < 3; i++) {
			factory.last.serverClose(1006);
			windows.push(connection.secondsUntilRetry!);
			vi.runOnlyPendingTimers();
		}
		expect(windows).toEqual([1, 1, 2]);
		expect(connection.attempt).toBe(3);
		accept();
		vi.advanceTimersByTime(5000);
		expect(connection.attempt).toBe(0);
		factory.last.serverClose(1006);
		expect(connection.secondsUntilRetry).toBe(1);
		connection.destroy();
	});

	it('gives up after the attempt limit and tries again on retryNow', () => {
		const { connection, factory, accept } = setup({ backoff: { maxAttempts: 2, random: () => 0 } });
		connection.connect();
		accept();
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		factory.last.serverClose(1006);
		expect(connection.state).toBe('offline');
		expect(connection.offlineReason).toBe('gave_up');
		vi.advanceTimersByTime(60_000);
		expect(factory.sockets).toHaveLength(3);

		connection.retryNow();
		expect(factory.sockets).toHaveLength(4);
		accept();
		expect(connection.state).toBe('connected');
		connection.destroy();
	});

	it('retryNow skips the wait', () => {
		const { connection, factory, accept } = setup({ backoff: { random: () => 0.999, baseMs: 20_000 } });
		connection.connect();
		accept();
		factory.last.serverClose(1006);
		expect(connection.state).toBe('reconnecting');
		connection.retryNow();
		expect(factory.sockets).toHaveLength(2);
		expect(connection.nextRetryAt).toBeNull();
		connection.destroy();
	});

	it('waits offline while the browser is offline and reconnects at once when it comes back', () => {
		const { connection, factory, accept, setOnline } = setup({
			backoff: { random: () => 0.999, baseMs: 20_000 }
		});
		connection.connect();
		const first = accept();
		setOnline(false);
		expect(connection.state).toBe('offline');
		expect(connection.offlineReason).toBe('network');
		expect(first.closedWith?.code).toBe(1000);
		vi.advanceTimersByTime(120_000);
		expect(factory.sockets).toHaveLength(1);
		setOnline(true);
		expect(factory.sockets).toHaveLength(2);
		accept();
		expect(connection.state).toBe('connected');
		connection.destroy();
	});

	it('asks stores to reload after a reconnect only when the hub answers reset, not after resumed', () => {
		const { connection, factory, accept } = setup();
		const reasons: string[] = [];
		connection.onReconnected((reason) => reasons.push(reason));
		connection.connect();
		accept();
		expect(reasons).toEqual([]);
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		accept().resumed(0);
		expect(reasons).toEqual([]);
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		accept().reset({ missed: 3 });
		expect(reasons).toEqual(['reset']);
		connection.destroy();
	});

	it('resumes from the last seq on every reconnect, also across epochs, with an id to match the answer', () => {
		const { connection, accept } = setup();
		connection.connect();
		const first = accept({ epoch: 'e1', seq: 3 });
		first.event({ type: 'task.progress', seq: 9, data: task });
		first.serverClose(1006);
		vi.runOnlyPendingTimers();
		const second = accept({ epoch: 'e1', seq: 12 });
		expect(second.sentOfType('resume')).toEqual([{ type: 'resume', epoch: 'e1', seq: 9, id: 'resume-1' }]);
		// the resume goes after the subscriptions, so the replay covers what they match
		expect(second.sent.at(-1)?.type).toBe('resume');
		second.resumed(0);

		second.serverClose(1012);
		vi.runOnlyPendingTimers();
		const third = accept({ epoch: 'e2', seq: 0 });
		expect(third.sentOfType('resume')).toEqual([{ type: 'resume', epoch: 'e1', seq: 9, id: 'resume-2' }]);
		expect(connection.epoch).toBe('e2');
		connection.destroy();
	});

	it('asks stores to resync on reset and takes the new position', () => {
		const { connection, accept } = setup();
		const reasons: string[] = [];
		connection.onReconnected((reason) => reasons.push(reason));
		connection.connect();
		const socket = accept();
		socket.receive({
			type: 'reset',
			timestamp: '',
			data: { missed: 40, epoch: 'e9', seq: 77, reason: 'gap' }
		});
		expect(reasons).toEqual(['reset']);
		expect(connection.epoch).toBe('e9');
		expect(connection.seq).toBe(77);
		connection.destroy();
	});

	it('passes control messages to their handlers', () => {
		const { connection, accept } = setup();
		const dropped: number[] = [];
		connection.onControl('dropped', (data) => dropped.push(data.count));
		connection.connect();
		accept().receive({ type: 'dropped', timestamp: '', data: { count: 5, from_seq: 1, to_seq: 5 } });
		expect(dropped).toEqual([5]);
		connection.destroy();
	});

	it('drops and retries a socket that opens but never says welcome', () => {
		const { connection, factory } = setup({ welcomeTimeoutMs: 1000 });
		connection.connect();
		factory.last.open();
		vi.advanceTimersByTime(1000);
		expect(factory.last.closedWith?.code).toBe(4000);
		expect(connection.state).toBe('reconnecting');
		vi.runOnlyPendingTimers();
		expect(factory.sockets).toHaveLength(2);
		connection.destroy();
	});

	it('reports state changes to listeners', () => {
		const { connection, factory, accept } = setup();
		const changes: string[] = [];
		connection.onStateChange((state, previous) => changes.push(`${previous}->${state}`));
		connection.connect();
		accept();
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		accept();
		expect(changes).toEqual(['connecting->connected', 'connected->reconnecting', 'reconnecting->connected']);
		connection.destroy();
	});

	it('keeps working when a handler throws', () => {
		const { connection, accept } = setup();
		const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
		const seen: number[] = [];
		connection.onEvent(() => {
			throw new Error('boom');
		});
		connection.onEvent((e) => seen.push(e.seq));
		connection.connect();
		accept().event({ type: 'task.progress', seq: 1, data: task });
		expect(seen).toEqual([1]);
		expect(errors).toHaveBeenCalled();
		errors.mockRestore();
		connection.destroy();
	});

	it('leaves no timer, socket or listener behind after destroy', () => {
		const { connection, factory, accept, setOnline } = setup();
		connection.connect();
		accept();
		factory.last.serverClose(1006);
		expect(vi.getTimerCount()).toBeGreaterThan(0);
		connection.destroy();
		expect(vi.getTimerCount()).toBe(0);
		setOnline(true);
		expect(factory.sockets).toHaveLength(1);
		expect(connection.state).toBe('offline');
		expect(connection.offlineReason).toBe('destroyed');
	});

	it('closes an open socket on destroy and stops its heartbeat', () => {
		const { connection, accept } = setup();
		connection.connect();
		const socket = accept();
		connection.destroy();
		expect(socket.closedWith?.code).toBe(1000);
		expect(vi.getTimerCount()).toBe(0);
	});
});
