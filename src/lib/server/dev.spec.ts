import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { loadConfig, type AcoConfig } from './config';
import { attachDev, closeOnSignals, SIGINT_EXIT_CODE, type DevAttachment } from './dev';
import { getContext, setContext } from './global';

let dir: string;
let config: AcoConfig;
const servers: http.Server[] = [];
const attachments: DevAttachment[] = [];

beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-dev-'));
	fs.mkdirSync(path.join(dir, 'workflows'));
	config = loadConfig({ ACO_DATA_DIR: path.join(dir, 'data'), ACO_LOG_LEVEL: 'silent' }, dir);
});

afterEach(async () => {
	await Promise.all(attachments.splice(0).map((a) => a.close()));
	await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
	setContext(undefined);
	fs.rmSync(dir, { recursive: true, force: true });
});

async function listen(): Promise<{ server: http.Server; url: string }> {
	const server = http.createServer((_req, res) => res.end('vite'));
	servers.push(server);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function attach(server: http.Server): Promise<DevAttachment> {
	const dev = await attachDev(server, config);
	attachments.push(dev);
	return dev;
}

/** Opens a socket and resolves once the hub's welcome arrived. */
function connect(url: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
	const ws = new WebSocket(url);
	const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
	return new Promise((resolve, reject) => {
		ws.once('error', reject);
		ws.once('message', (raw) => {
			expect(JSON.parse(String(raw))).toMatchObject({ type: 'welcome' });
			resolve({ ws, closed });
		});
	});
}

describe('attachDev', () => {
	it('routes /ws upgrades to the hub and publishes the context to the routes', async () => {
		const { server, url } = await listen();
		const dev = await attach(server);
		expect(getContext()).toBe(dev.context);
		const { ws } = await connect(`${url}/ws`);
		ws.close();
	});

	it('leaves upgrades on other paths to the listeners that own them, as Vite HMR needs', async () => {
		const { server, url } = await listen();
		const others: string[] = [];
		server.on('upgrade', (req, socket) => {
			others.push(req.url ?? '');
			socket.destroy();
		});
		await attach(server);
		const ws = new WebSocket(`${url}/?token=hmr`, 'vite-hmr');
		await new Promise((resolve) => ws.once('error', resolve));
		expect(others).toEqual(['/?token=hmr']);
	});

	it('attaches once per HTTP server, however often it is called', async () => {
		const { server } = await listen();
		const [first, second] = await Promise.all([attach(server), attach(server)]);
		expect(second).toBe(first);
		expect(await attachDev(server, config)).toBe(first);
		expect(server.listenerCount('upgrade')).toBe(1);
	});

	it('closes the previous context with 1012 when a restarted Vite server attaches', async () => {
		const old = await listen();
		const oldDev = await attach(old.server);
		const { closed } = await connect(`${old.url}/ws`);

		const fresh = await listen();
		const freshDev = await attach(fresh.server);
		expect(await closed).toBe(1012);
		expect(freshDev.context).not.toBe(oldDev.context);
		expect(getContext()).toBe(freshDev.context);

		// Vite closes the old server after the new one attached: that must not unpublish the new context.
		await oldDev.close();
		expect(getContext()).toBe(freshDev.context);
		expect(old.server.listenerCount('upgrade')).toBe(0);
		const { ws } = await connect(`${fresh.url}/ws`);
		ws.close();
	});

	it('close sends the close code, removes its upgrade listener and unpublishes the context', async () => {
		const { server, url } = await listen();
		const dev = await attach(server);
		const { closed } = await connect(`${url}/ws`);
		await Promise.all([dev.close(1001), dev.close(1011)]);
		expect(await closed).toBe(1001);
		expect(server.listenerCount('upgrade')).toBe(0);
		expect(getContext()).toBeUndefined();
	});
});

describe('closeOnSignals', () => {
	it("on SIGTERM closes the hub with 1001 before the SIGTERM listeners that came first (Vite's) run", async () => {
		const { server, url } = await listen();
		const dev = await attach(server);
		const { closed } = await connect(`${url}/ws`);
		const others = process.listeners('SIGTERM');
		const contextSeenByVite: unknown[] = [];
		const viteListener = () => contextSeenByVite.push(getContext());
		process.on('SIGTERM', viteListener);
		const release = closeOnSignals(dev, async () => {});
		try {
			// Only the listeners of this test: emitting the signal would also reach vitest's own.
			for (const listener of process.listeners('SIGTERM').filter((l) => !others.includes(l))) {
				listener('SIGTERM');
			}
			expect(contextSeenByVite).toEqual([undefined]);
			expect(await closed).toBe(1001);
		} finally {
			release();
			process.off('SIGTERM', viteListener);
		}
	});

	it('on Ctrl-C closes the context and the server, then exits with 130', async () => {
		const { server } = await listen();
		const dev = await attach(server);
		const exited = new Promise<unknown>((resolve) => {
			vi.spyOn(process, 'exit').mockImplementation((code) => resolve(code) as never);
		});
		const closeServer = vi.fn(async () => {});
		const release = closeOnSignals(dev, closeServer);
		try {
			process.listeners('SIGINT').at(-1)?.('SIGINT');
			expect(await exited).toBe(SIGINT_EXIT_CODE);
			expect(closeServer).toHaveBeenCalledOnce();
			expect(getContext()).toBeUndefined();
		} finally {
			release();
			vi.restoreAllMocks();
		}
	});

	it('removes its listeners when released', async () => {
		const { server } = await listen();
		const dev = await attach(server);
		const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
		const release = closeOnSignals(dev, async () => {});
		expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([
			before[0]! + 1,
			before[1]! + 1
		]);
		release();
		expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
	});
});
