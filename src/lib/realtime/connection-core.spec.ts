/**
 * The socket lifecycle both clients share (the browser's tabs and the `aco` CLI): when it comes
 * back after a restart, an outage or a wake-up, and what it asks the hub for.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectSubscriptions } from '../protocol/connect-subscriptions';
import { HubConnection } from './connection-core';
import type { HubConnectionOptions } from './connection-types';
import { socketFactory } from './test-socket';

function setup(options: Partial<HubConnectionOptions> = {}) {
	const factory = socketFactory();
	const target = new EventTarget();
	const visibility = new EventTarget();
	let visible = true;
	let online = true;
	const connection = new HubConnection({
		url: 'ws://aco.test/ws',
		createSocket: factory.create,
		target,
		isOnline: () => online,
		visibility: { target: visibility, isVisible: () => visible },
		...options
	});
	const resyncs: string[] = [];
	const seen: number[] = [];
	connection.onResync((reason) => resyncs.push(reason));
	connection.onEvent((event) => seen.push(event.seq));
	return {
		connection,
		factory,
		resyncs,
		seen,
		accept(welcome: Parameters<(typeof factory)['last']['welcome']>[0] = {}) {
			factory.last.open();
			factory.last.welcome(welcome);
			return factory.last;
		},
		setVisible(value: boolean) {
			visible = value;
			visibility.dispatchEvent(new Event('visibilitychange'));
		},
		setOnline(value: boolean) {
			online = value;
			target.dispatchEvent(new Event(value ? 'online' : 'offline'));
		}
	};
}

/** The delay of the retry the connection just scheduled. */
function waitOf(connection: HubConnection): number {
	return connection.nextRetryAt! - Date.now();
}

describe('HubConnection', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it.each([1012, 1001])(
		'after a %i close comes back within two seconds, spread so a crowd does not arrive at once',
		(code) => {
			const waits: number[] = [];
			for (const r of [0, 0.25, 0.5, 0.75, 0.999]) {
				const { connection, factory, accept } = setup({ backoff: { random: () => r } });
				connection.connect();
				accept();
				factory.last.serverClose(code, 'server restarting');
				expect(connection.state).toBe('reconnecting');
				waits.push(waitOf(connection));
				connection.destroy();
			}
			expect(Math.min(...waits)).toBeGreaterThanOrEqual(250);
			expect(Math.max(...waits)).toBeLessThan(2000);
			expect(new Set(waits).size).toBe(5);
		}
	);

	it('keeps retrying soon while the restarted server is still down, then backs off as usual', () => {
		const { connection, factory, accept } = setup({
			backoff: { random: () => 0.999 },
			restartWindowMs: 10_000
		});
		connection.connect();
		accept();
		factory.last.serverClose(1012);
		const waits: number[] = [];
		for (let i = 0; i < 20; i++) {
			const wait = waitOf(connection);
			waits.push(wait);
			vi.advanceTimersByTime(wait);
			// the server is not up yet: the socket fails to connect
			factory.last.serverClose(1006);
		}
		const soon = waits.filter((w) => w < 2000).length;
		// at most 2 s each for 10 s, then the usual backoff, capped
		expect(soon).toBeGreaterThanOrEqual(5);
		expect(waits.slice(0, soon).every((w) => w < 2000)).toBe(true);
		expect(waits.slice(soon).every((w) => w >= 2000 && w <= 5000)).toBe(true);
		connection.destroy();
	});

	it('never waits more than 5 s between attempts, however long the outage', () => {
		const { connection, factory, accept } = setup({ backoff: { random: () => 0.999 } });
		connection.connect();
		accept();
		const waits: number[] = [];
		for (let i = 0; i < 12; i++) {
			factory.last.serverClose(1006);
			waits.push(waitOf(connection));
			vi.advanceTimersByTime(waits.at(-1)!);
		}
		expect(Math.max(...waits)).toBeLessThan(5000);
		expect(waits.at(-1)).toBeGreaterThan(4000);
		connection.destroy();
	});

	it('retries at once when the page becomes visible while a retry waits', () => {
		const { connection, factory, accept, setVisible } = setup({
			backoff: { random: () => 0.999, baseMs: 4000 }
		});
		connection.connect();
		accept();
		factory.last.serverClose(1006);
		setVisible(false);
		expect(factory.sockets).toHaveLength(1);
		setVisible(true);
		expect(factory.sockets).toHaveLength(2);
		expect(connection.nextRetryAt).toBeNull();
		// visible again with nothing waiting does nothing
		setVisible(true);
		expect(factory.sockets).toHaveLength(2);
		connection.destroy();
	});

	it('retries at once when the browser says it is online while a retry waits, not after the server said stop', () => {
		const { connection, factory, accept, setOnline } = setup({
			backoff: { random: () => 0.999, baseMs: 4000 }
		});
		connection.connect();
		accept();
		factory.last.serverClose(1006);
		setOnline(true);
		expect(factory.sockets).toHaveLength(2);
		accept();
		factory.last.serverClose(4501);
		setOnline(true);
		connection.wake();
		expect(factory.sockets).toHaveLength(2);
		expect(connection.offlineReason).toBe('closed');
		connection.destroy();
	});

	it("taking over another tab's position, its first connect resumes from it", () => {
		const { connection, factory, accept, seen, resyncs } = setup({ resumeFrom: { epoch: 'e1', seq: 41 } });
		connection.subscribe('dash', { types: ['task.*'] });
		expect(connection.state).toBe('reconnecting');
		connection.connect();
		const socket = accept({ epoch: 'e1', seq: 44 });
		expect(socket.sent.map((m) => m.type)).toEqual(['subscribe', 'resume']);
		expect(socket.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 41 });
		socket.event({
			type: 'task.progress',
			seq: 41,
			data: { task_id: 't', run_id: null, progress: 1, message: null }
		});
		socket.event({
			type: 'task.progress',
			seq: 42,
			data: { task_id: 't', run_id: null, progress: 2, message: null }
		});
		socket.resumed(1);
		expect(seen).toEqual([42]);
		expect(resyncs).toEqual([]);
		expect(factory.sockets).toHaveLength(1);
		connection.destroy();
	});

	it('asks the hub for a slower rate with the subscription, and again after a reconnect', () => {
		const { connection, factory, accept } = setup();
		connection.subscribe('dash', { types: ['task.*'] }, { maxRate: 4 });
		connection.connect();
		accept();
		expect(factory.last.sentOfType('subscribe')).toEqual([
			{ type: 'subscribe', sub: 'dash', filter: { types: ['task.*'] }, max_rate: 4, id: 'sub:dash' }
		]);
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		accept();
		expect(factory.last.sentOfType('subscribe')[0]).toMatchObject({ max_rate: 4 });
		connection.destroy();
	});

	describe('subscriptions in the URL (a protocol 2 hub takes them with its welcome)', () => {
		/** the subscriptions the socket's URL carries, as the hub reads them */
		function carried(url: string) {
			const parsed = new URL(url);
			return connectSubscriptions(parsed.pathname + parsed.search).map((r) => (r.ok ? r.message : r.error));
		}

		it('opens each socket with the subscriptions held and sends none of them again', () => {
			const { connection, factory, accept } = setup();
			connection.subscribe('dash', { types: ['task.*'] }, { maxRate: 4 });
			connection.subscribe('task:t1', { task_ids: ['t1'] });
			connection.connect();
			expect(carried(factory.last.url)).toEqual([
				{ type: 'subscribe', sub: 'dash', filter: { types: ['task.*'] }, max_rate: 4, id: 'sub:dash' },
				{ type: 'subscribe', sub: 'task:t1', filter: { task_ids: ['t1'] }, id: 'sub:task:t1' }
			]);
			accept({ protocol: 2 });
			expect(factory.last.sent).toEqual([]);
			// a reconnect that resumes subscribes with messages right before its resume, as in v1
			connection.unsubscribe('task:t1');
			factory.last.serverClose(1006);
			vi.runOnlyPendingTimers();
			expect(carried(factory.last.url)).toEqual([]);
			accept({ protocol: 2 });
			expect(factory.last.sent.map((m) => m.type)).toEqual(['subscribe', 'resume']);
			connection.destroy();
		});

		it('sends what changed while the socket was opening: a new or replaced one, and the removal of a carried one', () => {
			const { connection, factory, accept } = setup();
			connection.subscribe('dash', { types: ['task.*'] });
			connection.subscribe('old', { task_ids: ['t0'] });
			connection.subscribe('same', { run_ids: ['r1'] });
			connection.connect();
			connection.subscribe('dash', { types: ['tool.*'] });
			connection.unsubscribe('old');
			connection.subscribe('new', { task_ids: ['t2'] });
			accept({ protocol: 2 });
			expect(factory.last.sent).toEqual([
				{ type: 'subscribe', sub: 'dash', filter: { types: ['tool.*'] }, id: 'sub:dash' },
				{ type: 'subscribe', sub: 'new', filter: { task_ids: ['t2'] }, id: 'sub:new' },
				{ type: 'unsubscribe', sub: 'old' }
			]);
			connection.destroy();
		});

		it('sends them all as messages to an older hub, which ignores the URL', () => {
			const { connection, factory, accept } = setup();
			connection.subscribe('dash', { types: ['task.*'] });
			connection.connect();
			expect(carried(factory.last.url)).toHaveLength(1);
			accept({ protocol: 1 });
			expect(factory.last.sentOfType('subscribe')).toEqual([
				{ type: 'subscribe', sub: 'dash', filter: { types: ['task.*'] }, id: 'sub:dash' }
			]);
			connection.destroy();
		});

		it('counts them subscribed once the hub confirms them', () => {
			const { connection, accept } = setup();
			const reasons: string[] = [];
			connection.onResync((reason) => reasons.push(reason));
			connection.subscribe('dash', { types: ['task.*'] });
			connection.connect();
			const socket = accept({ protocol: 2 });
			expect(reasons).toEqual([]);
			socket.receive({
				type: 'subscribed',
				timestamp: new Date().toISOString(),
				data: { id: 'dash', filter: {} }
			});
			expect(reasons).toEqual(['subscribed']);
			connection.destroy();
		});

		it('sends a subscription too long for the URL as a message', () => {
			const { connection, factory, accept } = setup();
			const many = Array.from({ length: 300 }, (_, i) => `task-${i}-${'x'.repeat(24)}`);
			connection.subscribe('dash', { types: ['task.*'] });
			connection.subscribe('many', { task_ids: many });
			connection.connect();
			expect(carried(factory.last.url).map((m) => 'sub' in m && m.sub)).toEqual(['dash']);
			accept({ protocol: 2 });
			expect(factory.last.sent).toEqual([
				{ type: 'subscribe', sub: 'many', filter: { task_ids: many }, id: 'sub:many' }
			]);
			connection.destroy();
		});
	});

	it("reports the hub's error answering a subscribe as that subscription's refusal, and does not unsubscribe what the hub never held", () => {
		const { connection, accept, resyncs } = setup();
		const refusals: [string, string][] = [];
		connection.onRefused((sub, error) => refusals.push([sub, error.code]));
		connection.subscribe('dash', { types: ['task.*'] });
		connection.subscribe('task:t1', { task_ids: ['t1'] });
		connection.connect();
		const socket = accept();
		const error = (code: string, ref?: string) =>
			socket.receive({ type: 'error', timestamp: '', data: { code, message: code, retryable: false, ref } });
		// not a subscribe's answer: nobody's refusal
		error('rate_limited');
		error('invalid_message', 'resume-1');
		socket.receive({
			type: 'subscribed',
			timestamp: '',
			data: { id: 'dash', filter: { types: ['task.*'] } }
		});
		error('too_many_subscriptions', 'sub:task:t1');
		expect(refusals).toEqual([['task:t1', 'too_many_subscriptions']]);
		// settled: the first connect's subscriptions do not wait for the refused one
		expect(resyncs).toEqual(['subscribed']);

		connection.unsubscribe('task:t1');
		connection.unsubscribe('dash');
		expect(socket.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', sub: 'dash' }]);
		connection.destroy();
	});

	it('counts a subscribe as on its way until answered, and none once the hub says it dropped messages unnamed', () => {
		const { connection, accept } = setup();
		connection.connect();
		const socket = accept();
		connection.subscribe('task:t1', { task_ids: ['t1'] });
		connection.subscribe('task:t1', { task_ids: ['t1', 't2'] });
		expect(connection.answering('task:t1')).toBe(true);
		socket.receive({
			type: 'subscribed',
			timestamp: '',
			data: { id: 'task:t1', filter: { task_ids: ['t1'] } }
		});
		expect(connection.answering('task:t1')).toBe(true);
		// the second was dropped for going too fast: it will never be answered
		socket.receive({
			type: 'error',
			timestamp: '',
			data: { code: 'rate_limited', message: 'slow down', retryable: true }
		});
		expect(connection.answering('task:t1')).toBe(false);
		connection.destroy();
	});

	it('reports every change of its figures, for an indicator to follow', () => {
		const { connection, factory, accept } = setup({ backoff: { random: () => 0.5 } });
		const snapshots: string[] = [];
		connection.onChange(() => snapshots.push(`${connection.state}:${connection.attempt}`));
		connection.connect();
		accept();
		factory.last.serverClose(1006);
		expect(snapshots).toContain('connected:0');
		expect(snapshots.at(-1)).toBe('reconnecting:1');
		expect(connection.snapshot()).toMatchObject({ state: 'reconnecting', attempt: 1, hasConnected: true });
		connection.destroy();
	});
});
