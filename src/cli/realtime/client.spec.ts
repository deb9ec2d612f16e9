import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloseCode } from '../../lib/protocol/close-codes';
import { socketFactory } from '../../lib/realtime/test-socket';
import { hubUrl } from './socket';
import { RealtimeClient, type RealtimeClientOptions, type ResyncReason } from './client';

const progress = (seq: number, value = seq) => ({
	type: 'task.progress' as const,
	seq,
	data: { task_id: 't1', run_id: null, progress: value, message: null }
});

function setup(given: Pick<RealtimeClientOptions, 'token' | 'tokenSource'> = {}) {
	const factory = socketFactory();
	const client = new RealtimeClient({
		...given,
		url: 'http://aco.test:3000',
		createSocket: factory.create,
		backoff: { baseMs: 100, capMs: 1000, random: () => 0.5 },
		welcomeTimeoutMs: 2_000,
		stableAfterMs: 5_000
	});
	const resyncs: ResyncReason[] = [];
	const seen: number[] = [];
	client.onResync((reason) => resyncs.push(reason));
	client.onEvent((event) => seen.push(event.seq));
	return { client, factory, resyncs, seen };
}

describe('RealtimeClient', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('derives the hub URL from the server address', () => {
		expect(hubUrl('http://127.0.0.1:3000')).toBe('ws://127.0.0.1:3000/ws');
		expect(hubUrl('https://aco.example/base/')).toBe('wss://aco.example/base/ws');
		expect(hubUrl('ws://h:1/ws')).toBe('ws://h:1/ws');
		expect(() => hubUrl('ftp://x')).toThrow(/http:\/\//);
	});

	it('subscribes after the welcome and says so once the hub confirms', () => {
		const { client, factory, resyncs } = setup();
		client.subscribe('tasks', { types: ['task.*'] });
		client.connect();
		expect(client.state).toBe('connecting');
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 7 });
		expect(client.state).toBe('connected');
		expect(factory.last.sentOfType('subscribe')).toEqual([
			{ type: 'subscribe', sub: 'tasks', filter: { types: ['task.*'] }, id: 'sub:tasks' }
		]);
		expect(resyncs).toEqual([]);
		factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'tasks', filter: {} } });
		expect(resyncs).toEqual(['subscribed']);
		expect(client.seq).toBe(7);
		client.destroy();
	});

	it('unpacks batches and drops events a replay repeats', () => {
		const { client, factory, seen } = setup();
		client.connect();
		factory.last.open();
		factory.last.welcome({ seq: 0 });
		factory.last.receive({ type: 'batch', events: [progress(1), progress(2)] });
		factory.last.event(progress(2));
		factory.last.event(progress(3));
		expect(seen).toEqual([1, 2, 3]);
		client.destroy();
	});

	it('reconnects soon after a restart, re-subscribes, resumes from the last seq; a clean resume needs no reload', () => {
		const { client, factory, resyncs, seen } = setup();
		client.subscribe('tasks');
		client.connect();
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'tasks', filter: {} } });
		factory.last.event(progress(4));
		factory.last.serverClose(1012, 'restart');
		expect(client.state).toBe('reconnecting');
		expect(client.lastClose).toMatchObject({ code: 1012, description: 'The server is restarting.' });
		expect(factory.sockets).toHaveLength(1);
		// a restart: a short jittered wait (0.25–2 s; 0.5 of it here), not the growing backoff
		vi.advanceTimersByTime(1124);
		expect(factory.sockets).toHaveLength(1);
		vi.advanceTimersByTime(1);
		expect(factory.sockets).toHaveLength(2);
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 9 });
		expect(factory.last.sent.map((m) => m.type)).toEqual(['subscribe', 'resume']);
		expect(factory.last.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 4 });
		factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'tasks', filter: {} } });
		// live 9 overtakes the replay of 5..8: held until the answer, then applied in order
		factory.last.event(progress(9));
		factory.last.receive({ type: 'batch', events: [progress(5), progress(6), progress(7), progress(8)] });
		expect(seen).toEqual([4]);
		factory.last.receive({ type: 'resumed', timestamp: '', data: { replayed: 4 } });
		expect(seen).toEqual([4, 5, 6, 7, 8, 9]);
		expect(resyncs).toEqual(['subscribed']);
		client.destroy();
	});

	it('in a new epoch it still asks to resume (the hub answers reset with a count), takes the server position and reloads', () => {
		const { client, factory, resyncs } = setup();
		client.subscribe('tasks');
		client.connect();
		factory.last.open();
		factory.last.welcome({ epoch: 'e1' });
		factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'tasks', filter: {} } });
		factory.last.event(progress(4));
		factory.last.serverClose(1001);
		vi.advanceTimersByTime(2_000);
		factory.last.open();
		factory.last.welcome({ epoch: 'e2', seq: 2 });
		expect(factory.last.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 4 });
		expect(client.epoch).toBe('e2');
		factory.last.reset({ missed: 7, epoch: 'e2', seq: 2 });
		expect(resyncs).toEqual(['subscribed', 'reset']);
		client.destroy();
	});

	it('reloads when the hub does not answer the resume in time', () => {
		const { client, factory, resyncs } = setup();
		client.connect();
		factory.last.open();
		factory.last.welcome({ epoch: 'e1' });
		factory.last.serverClose(1006);
		vi.advanceTimersByTime(100);
		factory.last.open();
		factory.last.welcome({ epoch: 'e1' });
		expect(resyncs).toEqual([]);
		vi.advanceTimersByTime(10_000);
		expect(resyncs).toEqual(['reconnect']);
		client.destroy();
	});

	it('stays offline after a close code that forbids reconnecting', () => {
		const { client, factory } = setup();
		const states: string[] = [];
		client.onStateChange((state) => states.push(state));
		client.connect();
		factory.last.open();
		factory.last.serverClose(4500, 'token required');
		vi.advanceTimersByTime(60_000);
		expect(factory.sockets).toHaveLength(1);
		expect(client.state).toBe('offline');
		expect(client.offlineReason).toBe('closed');
		expect(client.lastClose?.description).toMatch(/^Valid credentials are required/);
		expect(states).toEqual(['offline']);
		client.destroy();
	});

	it('names where the token came from when the hub refuses it (4500)', () => {
		const { client, factory } = setup({ token: 'stale', tokenSource: '--token' });
		client.connect();
		factory.last.serverClose(4500, 'the server refused the WebSocket upgrade with HTTP 401');
		expect(client.offlineMessage).toMatch(
			/^the server closed the connection: Valid credentials .*\(4500\)\. The token sent came from --token\.$/
		);
		client.destroy();
	});

	it('backs off longer after each failed attempt and starts over after a stable connection', () => {
		const { client, factory } = setup();
		client.connect();
		factory.last.serverClose(1006);
		vi.advanceTimersByTime(50);
		factory.last.serverClose(1006);
		vi.advanceTimersByTime(99);
		expect(factory.sockets).toHaveLength(2);
		vi.advanceTimersByTime(1);
		expect(factory.sockets).toHaveLength(3);
		expect(client.attempt).toBe(2);
		factory.last.open();
		factory.last.welcome();
		vi.advanceTimersByTime(5_000);
		expect(client.attempt).toBe(0);
		client.destroy();
	});

	it('reloads on reset (history lost) and on dropped (backpressure)', () => {
		const { client, factory, resyncs } = setup();
		client.subscribe('tasks');
		client.connect();
		factory.last.open();
		factory.last.welcome();
		factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'tasks', filter: {} } });
		factory.last.receive({
			type: 'reset',
			timestamp: '',
			data: { missed: null, epoch: 'e9', seq: 50, reason: 'gone' }
		});
		factory.last.receive({ type: 'dropped', timestamp: '', data: { count: 3, from_seq: 51, to_seq: 53 } });
		expect(resyncs).toEqual(['subscribed', 'reset', 'dropped']);
		expect(client.epoch).toBe('e9');
		expect(client.seq).toBe(50);
		client.destroy();
	});

	it('beats at the interval the welcome names', () => {
		const { client, factory } = setup();
		client.connect();
		factory.last.open();
		factory.last.welcome({ heartbeat_interval_ms: 1_000 });
		vi.advanceTimersByTime(3_100);
		expect(factory.last.sentOfType('connection.heartbeat')).toHaveLength(3);
		client.destroy();
	});

	it('drops a socket that opens but never says welcome, and tries again', () => {
		const { client, factory } = setup();
		client.connect();
		factory.last.open();
		vi.advanceTimersByTime(2_000);
		expect(factory.sockets[0].closedWith?.code).toBe(4000);
		expect(client.state).toBe('reconnecting');
		vi.advanceTimersByTime(50);
		expect(factory.sockets).toHaveLength(2);
		client.destroy();
	});

	it('destroy closes the socket, stops retrying and is idempotent', () => {
		const { client, factory } = setup();
		client.connect();
		factory.last.open();
		factory.last.welcome();
		client.destroy();
		client.destroy();
		expect(factory.last.closedWith?.code).toBe(1000);
		expect(client.state).toBe('offline');
		expect(client.offlineReason).toBe('destroyed');
		vi.advanceTimersByTime(60_000);
		expect(factory.sockets).toHaveLength(1);
	});
});

describe('RealtimeClient against a server that refuses the upgrade', () => {
	/** A real server on port 0 that answers every upgrade with `status`; counts the upgrades. */
	async function refusingServer(status: number) {
		const server = http.createServer();
		const state = { upgrades: 0 };
		server.on('upgrade', (_req, socket) => {
			// a client that goes away while refused resets the socket: no error to throw
			socket.on('error', () => {});
			state.upgrades++;
			const body = JSON.stringify({ error: { code: 'refused', message: 'refused' } });
			socket.end(
				`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n` +
					`Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
			);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const client = new RealtimeClient({
			url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
			token: 'revoked',
			backoff: { baseMs: 5, capMs: 20 },
			slowDownDelayMs: 5
		});
		const close = async () => {
			client.destroy();
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		};
		return { client, state, close };
	}

	it('stops after one attempt when the upgrade is refused with 401, saying credentials are needed', async () => {
		const { client, state, close } = await refusingServer(401);
		try {
			client.connect();
			await vi.waitFor(() => expect(client.state).toBe('offline'), { timeout: 10_000, interval: 5 });
			expect(client.offlineReason).toBe('closed');
			expect(client.lastClose).toMatchObject({ code: 4500, reason: expect.stringMatching(/HTTP 401/) });
			expect(client.lastClose?.description).toMatch(/^Valid credentials are required/);
			expect(state.upgrades).toBe(1);
		} finally {
			await close();
		}
	});

	it('stops on 403 (the token may not do this)', async () => {
		const { client, state, close } = await refusingServer(403);
		try {
			client.connect();
			await vi.waitFor(() => expect(client.state).toBe('offline'), { timeout: 10_000, interval: 5 });
			expect(client.offlineReason).toBe('closed');
			expect(client.lastClose?.code).toBe(4504);
			expect(state.upgrades).toBe(1);
		} finally {
			await close();
		}
	});

	it.each([404, 400, 405, 426, 301])(
		'stops after one attempt when the upgrade is refused with %i, naming the URL that has no hub',
		async (status) => {
			const { client, state, close } = await refusingServer(status);
			try {
				client.connect();
				await vi.waitFor(() => expect(client.state).toBe('offline'), { timeout: 10_000, interval: 5 });
				expect(client.offlineReason).toBe('closed');
				expect(client.lastClose?.code).toBe(CloseCode.NO_HUB);
				expect(client.offlineMessage).toBe(`no aco WebSocket at ${client.url} (HTTP ${status}): check --url`);
				expect(state.upgrades).toBe(1);
			} finally {
				await close();
			}
		}
	);

	it.each([502, 504, 429])(
		'keeps retrying with back-off when the upgrade is answered with %i (a proxy while the server restarts)',
		async (status) => {
			const { client, state, close } = await refusingServer(status);
			try {
				client.connect();
				await vi.waitFor(() => expect(state.upgrades).toBeGreaterThanOrEqual(3), {
					timeout: 10_000,
					interval: 5
				});
				expect(client.state).not.toBe('offline');
			} finally {
				await close();
			}
		}
	);

	it('keeps retrying, slowed down, when the upgrade is refused with 503 (over capacity, shutting down)', async () => {
		const { client, state, close } = await refusingServer(503);
		try {
			client.connect();
			await vi.waitFor(() => expect(state.upgrades).toBeGreaterThanOrEqual(3), {
				timeout: 10_000,
				interval: 5
			});
			expect(client.state).not.toBe('offline');
			expect(client.lastClose?.code).toBe(1013);
		} finally {
			await close();
		}
	});
});
