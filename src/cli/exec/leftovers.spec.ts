import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { saveToken } from '../credentials';
import { deliverLeftovers } from './leftovers';
import { Spool } from './spool';

/** An aco server stand-in on port 0 that takes any task and records each request's Authorization. */
async function recordingServer() {
	const authorizations: (string | undefined)[] = [];
	const server = http.createServer((req, res) => {
		authorizations.push(req.headers.authorization);
		req.resume();
		req.on('end', () => {
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify(req.url === '/api/v1/tasks' ? { task: { id: 'task_1' }, existing: false } : {}));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		authorizations,
		close: () => new Promise<void>((resolve) => server.close(() => resolve()))
	};
}

type Server = Awaited<ReturnType<typeof recordingServer>>;

/** a server that answers every request with `status` (200: an HTML page, not aco's answer) */
async function refusingServer(status: number) {
	const server = http.createServer((req, res) => {
		req.resume();
		req.on('end', () => {
			res.statusCode = status;
			if (status === 200) {
				res.setHeader('content-type', 'text/html');
				res.end('<!doctype html><p>sign in to the Wi-Fi');
				return;
			}
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify({ error: { code: 'refused', message: `refused with ${status}` } }));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: () => new Promise<void>((resolve) => server.close(() => resolve()))
	};
}

/** a port nothing listens on (it was free a moment ago) */
function freePortOf(): Promise<number> {
	return new Promise((resolve) => {
		const probe = http.createServer().listen(0, '127.0.0.1', () => {
			const { port } = probe.address() as AddressInfo;
			probe.close(() => resolve(port));
		});
	});
}

describe('delivery of leftover spools', () => {
	let dir: string;
	let configDir: string;
	let a: Server;
	let b: Server;

	beforeEach(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-leftovers-spec-'));
		configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-leftovers-config-'));
		vi.stubEnv('ACO_CONFIG_DIR', configDir);
		[a, b] = await Promise.all([recordingServer(), recordingServer()]);
	});
	afterEach(async () => {
		vi.unstubAllEnvs();
		await Promise.all([a.close(), b.close()]);
		fs.rmSync(dir, { recursive: true, force: true });
		fs.rmSync(configDir, { recursive: true, force: true });
	});

	/** a finished spool for `url`, left by an aco on another machine (so no live process owns it) */
	function leftSpool(url: string, id = 'left'): void {
		const spool = Spool.create(dir, { id, url, task: { name: `kept ${id}` } });
		spool.append([{ type: 'output', step: 0, lines: [{ n: 1, text: 'a' }] }]);
		spool.markComplete();
		const [header, ...rest] = fs.readFileSync(spool.file, 'utf8').split('\n');
		const moved = { ...(JSON.parse(header) as object), host: 'another-host' };
		fs.writeFileSync(spool.file, [JSON.stringify(moved), ...rest].join('\n'));
	}

	it("sends a spool for another server without the command's token, with the one kept for that server", async () => {
		leftSpool(a.url);
		saveToken(a.url, 'tA', 'operator');
		expect(await deliverLeftovers({ url: b.url, token: 'tB', dir })).toBe(1);
		expect(a.authorizations.length).toBeGreaterThan(0);
		expect(a.authorizations).not.toContain('Bearer tB');
		expect(new Set(a.authorizations)).toEqual(new Set(['Bearer tA']));
		expect(b.authorizations).toEqual([]);
	});

	it('sends a spool for another server with no token at all when none is kept for it', async () => {
		leftSpool(a.url);
		expect(await deliverLeftovers({ url: b.url, token: 'tB', dir })).toBe(1);
		expect(new Set(a.authorizations)).toEqual(new Set([undefined]));
	});

	it('goes on to the other spools when the token kept for one server cannot be sent, and says so', async () => {
		leftSpool(a.url, 'for-a');
		leftSpool(b.url, 'for-b');
		// a hand-edited credentials file: a token with a carriage return inside
		saveToken(a.url, 'kept\rtoken-for-a', 'operator');
		const notices: string[] = [];
		expect(
			await deliverLeftovers({ url: b.url, token: 'tB', dir, notice: (text) => notices.push(text) })
		).toBe(1);
		expect(new Set(b.authorizations)).toEqual(new Set(['Bearer tB']));
		expect(a.authorizations).toEqual([]);
		expect(notices).toEqual(
			expect.arrayContaining([
				expect.stringMatching(
					/^kept the log of "kept for-a" for http:\/\/127\.0\.0\.1:\d+: .*control character/
				)
			])
		);
	});

	it('still sends the spools of a server that is up when an older one is for a server that is away', async () => {
		const away = `http://127.0.0.1:${await freePortOf()}`;
		leftSpool(away, 'for-away-1');
		leftSpool(away, 'for-away-2');
		leftSpool(b.url, 'for-b');
		expect(await deliverLeftovers({ url: b.url, token: 'tB', dir })).toBe(1);
		expect(fs.readdirSync(dir).filter((name) => name.endsWith('.ndjson'))).toHaveLength(2);
	});

	it('sets aside a spool a server refuses for good, saying so once, and keeps one refused for want of sign-in', async () => {
		const [unprocessable, unauthorized] = await Promise.all([refusingServer(422), refusingServer(401)]);
		try {
			leftSpool(unprocessable.url, 'refused');
			leftSpool(unauthorized.url, 'not-signed-in');
			const notices: string[] = [];
			const notice = (text: string) => notices.push(text);
			expect(await deliverLeftovers({ url: b.url, token: 'tB', dir, notice })).toBe(0);
			expect(await deliverLeftovers({ url: b.url, token: 'tB', dir, notice })).toBe(0);
			expect(notices).toEqual([
				expect.stringMatching(
					/refused the kept log of "kept refused" \(.*422.*\); it is set aside in .*refused\.ndjson\.rejected\.$/
				)
			]);
			expect(fs.readdirSync(dir).sort()).toEqual(
				expect.arrayContaining(['not-signed-in.ndjson', 'refused.ndjson.rejected'])
			);
		} finally {
			await Promise.all([unprocessable.close(), unauthorized.close()]);
		}
	});

	it('delivers a spool whose writer was killed mid-line, closed as failed, and keeps logs for a server that answers with a page that is not aco', async () => {
		leftSpool(b.url, 'torn');
		fs.appendFileSync(path.join(dir, 'torn.ndjson'), '{"type":"outp');
		const portal = await refusingServer(200);
		try {
			leftSpool(portal.url, 'behind-a-portal');
			expect(await deliverLeftovers({ url: b.url, token: 'tB', dir })).toBe(1);
			expect(fs.readdirSync(dir).filter((name) => name.endsWith('.ndjson'))).toEqual([
				'behind-a-portal.ndjson'
			]);
		} finally {
			await portal.close();
		}
	});

	it("sends a spool for the command's own server with the command's token", async () => {
		leftSpool(a.url);
		saveToken(a.url, 'kept', 'operator');
		expect(await deliverLeftovers({ url: `${a.url.replace('http:', 'ws:')}/ws`, token: 'tA', dir })).toBe(1);
		expect(new Set(a.authorizations)).toEqual(new Set(['Bearer tA']));
	});
});
