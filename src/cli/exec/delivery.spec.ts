import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliError } from '../args';
import { AcoHttp, HttpError, UnreachableError } from '../http';
import { Delivery } from './delivery';
import { Spool, leftoverSpools } from './spool';

/** A server that is down for the first `downFor` requests, then records what it is sent. */
function fakeServer(downFor: number) {
	const calls: { method: string; path: string; body: unknown; headers?: Record<string, string> }[] = [];
	let attempts = 0;
	return {
		calls,
		http: {
			async request<T>(
				method: string,
				path: string,
				options: { body?: unknown; headers?: Record<string, string> } = {}
			) {
				attempts++;
				if (attempts <= downFor) throw new UnreachableError('cannot reach the aco server');
				calls.push({ method, path, body: options.body, headers: options.headers });
				return (path === '/tasks' ? { task: { id: 'task_1' }, existing: false } : {}) as T;
			}
		}
	};
}

describe('delivery of a spool', () => {
	let dir: string;

	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-spool-spec-'));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	it('retries while the server is down, then sends the create and every event in order, once', async () => {
		const spool = Spool.create(dir, { id: 'abc', url: 'http://x', task: { name: 'n' } });
		const server = fakeServer(3);
		let offline = 0;
		const delivery = new Delivery({
			http: server.http,
			spool,
			retryMinMs: 5,
			retryMaxMs: 10,
			batchEvents: 2,
			onOffline: () => offline++
		});
		spool.append([
			{ type: 'tool.start', step: 0, name: 's' },
			{ type: 'output', step: 0, lines: [{ n: 1, text: 'a' }] },
			{ type: 'output', step: 0, lines: [{ n: 2, text: 'b' }] }
		]);
		delivery.kick();
		spool.markComplete();
		expect(await delivery.drain(2_000)).toBe('delivered');
		expect(offline).toBe(1);
		expect(server.calls.map((c) => c.path)).toEqual([
			'/tasks',
			'/tasks/task_1/events',
			'/tasks/task_1/events'
		]);
		expect(server.calls[0].headers).toEqual({ 'idempotency-key': 'abc' });
		expect(server.calls.flatMap((c) => (c.body as { events?: unknown[] }).events ?? [])).toHaveLength(3);
	});

	it('makes one attempt with what the spool holds even with no time to retry: the end reaches a server that is up', async () => {
		const spool = Spool.create(dir, { id: 'now', url: 'http://x', task: { name: 'n' } });
		const server = fakeServer(0);
		const delivery = new Delivery({ http: server.http, spool });
		spool.append([{ type: 'tool.start', step: 0, name: 's' }]);
		// an attempt is under way when the command ends; it does not carry the end
		delivery.kick();
		spool.append([{ type: 'status', status: 'succeeded' }]);
		spool.markComplete();
		expect(await delivery.drain(0)).toBe('delivered');
		expect(server.calls.flatMap((c) => (c.body as { events?: unknown[] }).events ?? [])).toHaveLength(2);
	});

	it('asks a server that is down once more without waiting out the backoff when there is no time to retry', async () => {
		const spool = Spool.create(dir, { id: 'away', url: 'http://x', task: { name: 'n' } });
		const server = fakeServer(Number.MAX_SAFE_INTEGER);
		let asked = 0;
		const http = {
			request<T>(...args: Parameters<typeof server.http.request>): Promise<T> {
				asked++;
				return server.http.request<T>(...args);
			}
		};
		const delivery = new Delivery({ http, spool, retryMinMs: 60_000 });
		spool.append([{ type: 'tool.start', step: 0, name: 's' }]);
		delivery.kick();
		await expect.poll(() => delivery.offline).toBe(true);
		spool.markComplete();
		const started = Date.now();
		expect(await delivery.drain(0)).toBe('pending');
		expect(Date.now() - started).toBeLessThan(10_000);
		expect(asked).toBe(2);
		delivery.stop();
	}, 20_000);

	it('sends everything with no time to retry while the server takes it, not one batch only', async () => {
		const spool = Spool.create(dir, { id: 'burst', url: 'http://x', task: { name: 'n' } });
		const server = fakeServer(0);
		const delivery = new Delivery({ http: server.http, spool });
		// a burst at the end: more than one request's worth (200 events)
		spool.append(
			Array.from({ length: 502 }, (_, i) => ({
				type: 'output' as const,
				step: 0,
				lines: [{ n: i + 1, text: `line ${i + 1}` }]
			}))
		);
		spool.markComplete();
		expect(await delivery.drain(0)).toBe('delivered');
		expect(spool.state.acked).toBe(502);
		expect(server.calls.flatMap((c) => (c.body as { events?: unknown[] }).events ?? [])).toHaveLength(502);
	});

	it('waits with no time to retry at most its bound, a request under way included', async () => {
		const spool = Spool.create(dir, { id: 'slow', url: 'http://x', task: { name: 'n' } });
		let asked = 0;
		// a server that never answers (until the request's own timeout, far later)
		const http = {
			request<T>(): Promise<T> {
				asked++;
				return new Promise<T>(() => {});
			}
		};
		const delivery = new Delivery({ http, spool, lastChanceMs: 300 });
		spool.append([{ type: 'tool.start', step: 0, name: 's' }]);
		delivery.kick();
		spool.markComplete();
		const started = Date.now();
		expect(await delivery.drain(0)).toBe('pending');
		expect(Date.now() - started).toBeLessThan(5_000);
		expect(asked).toBe(1);
		delivery.stop();
	}, 20_000);

	it('splits events into requests that stay under the byte budget', async () => {
		const spool = Spool.create(dir, { id: 'big', url: 'http://x', task: { name: 'n' } });
		const text = 'x'.repeat(1_000);
		spool.append(
			Array.from({ length: 10 }, (_, i) => ({
				type: 'output' as const,
				step: 0,
				lines: [{ n: i + 1, text }]
			}))
		);
		spool.markComplete();
		const server = fakeServer(0);
		const delivery = new Delivery({ http: server.http, spool, batchBytes: 3_500 });
		expect(await delivery.drain(1_000)).toBe('delivered');
		const sizes = server.calls.slice(1).map((c) => (c.body as { events: unknown[] }).events.length);
		expect(sizes).toEqual([3, 3, 3, 1]);
	});

	it('picks up where the state file says after a restart, and leaves live owners alone', async () => {
		const spool = Spool.create(dir, { id: 'def', url: 'http://x', task: { name: 'n' } });
		spool.append([
			{ type: 'progress', progress: 1 },
			{ type: 'progress', progress: 2 }
		]);
		spool.acknowledge('task_1', 1);
		spool.markComplete();
		// this process owns it, so it is not a leftover
		expect(leftoverSpools(dir)).toEqual([]);

		const reopened = Spool.open(spool.file)!;
		expect(reopened.state).toEqual({ task_id: 'task_1', acked: 1, complete: true });
		const server = fakeServer(0);
		expect(await new Delivery({ http: server.http, spool: reopened }).drain(1_000)).toBe('delivered');
		expect(server.calls).toEqual([
			{
				method: 'POST',
				path: '/tasks/task_1/events',
				body: { events: [{ type: 'progress', progress: 2 }] },
				headers: undefined
			}
		]);
	});

	it('stops at a refusal and keeps the spool', async () => {
		const spool = Spool.create(dir, { id: 'ghi', url: 'http://x', task: { name: 'n' } });
		spool.markComplete();
		const refused: CliError[] = [];
		const delivery = new Delivery({
			http: { request: async () => Promise.reject(new HttpError(401, 'unauthorized', 'token')) },
			spool,
			onRejected: (err) => refused.push(err)
		});
		expect(await delivery.drain(1_000)).toBe('rejected');
		expect(refused).toHaveLength(1);
		expect(fs.existsSync(spool.file)).toBe(true);
	});

	it("stops at an answer that is not aco's and says what answered, rather than retrying as if offline", async () => {
		let requests = 0;
		const server = http.createServer((_req, res) => {
			requests++;
			res.setHeader('content-type', 'text/html');
			res.end('<!doctype html><p>a web server');
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		try {
			const spool = Spool.create(dir, { id: 'web', url, task: { name: 'n' } });
			spool.markComplete();
			const rejected: CliError[] = [];
			let offline = 0;
			const delivery = new Delivery({
				http: new AcoHttp({ url, token: undefined }),
				spool,
				retryMinMs: 5,
				retryMaxMs: 10,
				onOffline: () => offline++,
				onRejected: (err) => rejected.push(err)
			});
			expect(await delivery.drain(10_000)).toBe('rejected');
			expect(rejected.map((err) => err.message)).toEqual([
				`${url}/api/v1/tasks answered 200 text/html, not aco's API: check --url or ACO_URL.`
			]);
			expect(offline).toBe(0);
			expect(requests).toBe(1);
			expect(fs.existsSync(spool.file)).toBe(true);
		} finally {
			await new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)));
		}
	});

	it('waits for a time past the longest timer without a TimeoutOverflowWarning', async () => {
		const warnings: string[] = [];
		const onWarning = (warning: Error) => warnings.push(warning.name);
		process.on('warning', onWarning);
		try {
			const spool = Spool.create(dir, { id: 'long', url: 'http://x', task: { name: 'n' } });
			spool.append([{ type: 'progress', progress: 1 }]);
			spool.markComplete();
			const server = fakeServer(3);
			const delivery = new Delivery({ http: server.http, spool, retryMinMs: 5, retryMaxMs: 10 });
			// --retry-for's own limit is a day; the wait itself must not overflow either
			expect(await delivery.drain(10 ** 12)).toBe('delivered');
			// node says it on the next tick
			await new Promise((resolve) => setImmediate(resolve));
			expect(warnings).not.toContain('TimeoutOverflowWarning');
		} finally {
			process.off('warning', onWarning);
		}
	});
});
