/**
 * HTTP and WebSocket hardening against the real server: DNS rebinding (Host), foreign pages
 * (Origin), security headers on pages and downloads, an oversized header block, a flood of
 * 1-byte continuation frames from 50 connections, and the data folder's modes. Each case
 * checks that the healthy subscribers kept receiving meanwhile.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestTaskResponse, RunsResponse, TaskResponse, TasksResponse } from '../../src/lib/protocol';
import type { SessionResponse } from '../../src/lib/protocol/auth';
import { HealthyClients } from '../helpers/healthy-clients';
import { ROOT, startAco, tempDir, type AcoProcess } from '../helpers/server';
import { upgradeRequest } from '../helpers/ws-client';
import { floodBytes, fragmentFlood, peakRss } from '../helpers/ws-flood';

const OPERATOR = 'hard-operator-token-0123456789';
const VIEWER = 'hard-viewer-token-0123456789';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

interface RawResponse {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: string;
}

/** A request with any headers, Host included (fetch does not let one set Host). */
function rawRequest(
	url: string,
	options: { method?: string; headers?: Record<string, string>; body?: string } = {}
) {
	return new Promise<RawResponse>((resolve, reject) => {
		const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (c: string) => (body += c));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
		});
		req.on('error', reject);
		req.end(options.body);
	});
}

/** Writes raw bytes to the server and resolves with everything it answers until it closes. */
function rawExchange(port: number, data: string | Buffer): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
		let received = '';
		socket.setEncoding('latin1');
		socket.on('data', (chunk: string) => (received += chunk));
		socket.on('error', (err: NodeJS.ErrnoException) =>
			err.code === 'ECONNRESET' ? resolve(received) : reject(err)
		);
		socket.on('close', () => resolve(received));
	});
}

describe('HTTP and WebSocket hardening', () => {
	let aco: AcoProcess;
	let healthy: HealthyClients;
	let host: string;

	beforeAll(async () => {
		// a folder others could read, as an older aco (or a careless mkdir) left it
		const dataDir = tempDir();
		fs.chmodSync(dataDir, 0o755);
		aco = await startAco({
			dataDir,
			workflowsDir: path.join(ROOT, 'tests/fixtures/workflows'),
			env: { ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` }
		});
		host = new URL(aco.url).host;
		healthy = await HealthyClients.start(aco, { token: VIEWER, operatorToken: OPERATOR });
	});
	afterAll(async () => {
		await healthy?.stop();
		await aco?.stop();
	});

	/** an ingested task whose one tool printed `lines`: its id and its execution's */
	async function loggedTask(name: string, tool: string, lines: string[]) {
		const created = (await (
			await fetch(`${aco.url}/api/v1/tasks`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...auth(OPERATOR) },
				body: JSON.stringify({ name })
			})
		).json()) as IngestTaskResponse;
		await fetch(`${aco.url}/api/v1/tasks/${created.task.id}/events`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...auth(OPERATOR) },
			body: JSON.stringify({
				events: [
					{ type: 'tool.start', step: 0, name: tool },
					{ type: 'output', step: 0, lines: lines.map((text) => ({ text })) }
				]
			})
		});
		const detail = (await (
			await fetch(`${aco.url}/api/v1/tasks/${created.task.id}`, { headers: auth(VIEWER) })
		).json()) as TaskResponse;
		return { taskId: created.task.id, executionId: detail.task.executions[0].id };
	}

	const runsCount = async () =>
		((await (await fetch(`${aco.url}/api/v1/runs`, { headers: auth(OPERATOR) })).json()) as RunsResponse).runs
			.length;

	const tasksNamed = async (name: string) =>
		(
			(await (
				await fetch(`${aco.url}/api/v1/tasks?limit=500`, { headers: auth(OPERATOR) })
			).json()) as TasksResponse
		).tasks.filter((t) => t.name === name);

	it('refuses a rebound name (Host) with 403 on REST, pages and the hub, even with a valid token', async () => {
		const runs = await runsCount();
		const evil = `evil.example:${aco.port}`;
		const rebound = { host: evil, origin: `http://${evil}`, ...auth(OPERATOR) };
		const post = await rawRequest(`${aco.url}/api/v1/workflows/quick/runs`, {
			method: 'POST',
			headers: rebound
		});
		expect(post.status).toBe(403);
		expect(JSON.parse(post.body)).toMatchObject({ error: { code: 'forbidden_host' } });
		expect(
			(await rawRequest(`${aco.url}/api/v1/tasks`, { headers: { host: evil, ...auth(OPERATOR) } })).status
		).toBe(403);
		expect((await rawRequest(`${aco.url}/`, { headers: { host: evil } })).status).toBe(403);
		const upgrade = await upgradeRequest(aco.wsUrl, {
			Host: evil,
			Origin: `http://${evil}`,
			...auth(VIEWER)
		});
		expect(upgrade.status).toBe(403);
		expect(await runsCount()).toBe(runs);
		await healthy.expectHealthy();
	});

	it('refuses pages of other sites (Origin) with 403 on REST and the hub, and admits its own', async () => {
		const runs = await runsCount();
		const foreign = { origin: 'https://evil.example', ...auth(OPERATOR) };
		const post = await rawRequest(`${aco.url}/api/v1/workflows/quick/runs`, {
			method: 'POST',
			headers: foreign
		});
		expect(post.status).toBe(403);
		expect(JSON.parse(post.body)).toMatchObject({ error: { code: 'forbidden_origin' } });
		expect(
			(await upgradeRequest(aco.wsUrl, { Origin: 'https://evil.example', ...auth(VIEWER) })).status
		).toBe(403);
		expect((await upgradeRequest(aco.wsUrl, { Origin: 'null', ...auth(VIEWER) })).status).toBe(403);
		expect(await runsCount()).toBe(runs);
		expect((await upgradeRequest(aco.wsUrl, { Origin: aco.url, ...auth(VIEWER) })).status).toBe(101);
		await healthy.expectHealthy();
	});

	it('refuses form posts from pages of other sites to sign-in, sign-out and the API, and form posts naming no Origin to pages', async () => {
		const form = 'application/x-www-form-urlencoded';
		const signIn = (headers: Record<string, string>) =>
			fetch(`${aco.url}/signin`, {
				method: 'POST',
				redirect: 'manual',
				headers: { 'content-type': form, accept: 'text/html', ...headers },
				body: new URLSearchParams({ token: OPERATOR, next: '/' })
			});
		// Browsers send Origin with every POST: another site's; another port of this machine (the
		// same site, so a SameSite=Lax cookie goes along); "null" from a sandboxed frame or a page
		// that hides its address. Browsers from before that rule sent none with a form.
		const sameSite = `http://localhost:${aco.port + 1}`;
		for (const origin of ['https://evil.example', sameSite, 'null', undefined]) {
			const res = await signIn(origin ? { origin } : {});
			expect(res.status, origin).toBe(403);
			expect(res.headers.get('set-cookie'), origin).toBeNull();
		}
		const signedIn = await signIn({ origin: aco.url });
		expect(signedIn.status).toBe(303);
		const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;

		for (const origin of ['https://evil.example', sameSite, undefined]) {
			const signOut = await fetch(`${aco.url}/signout`, {
				method: 'POST',
				redirect: 'manual',
				headers: { cookie, 'content-type': form, ...(origin ? { origin } : {}) },
				body: ''
			});
			expect(signOut.status, origin).toBe(403);
		}
		const session = await fetch(`${aco.url}/api/v1/session`, { headers: { cookie } });
		expect(((await session.json()) as SessionResponse).via).toBe('session');

		const runs = await runsCount();
		// a form can send JSON-looking text as text/plain: {"name":"csrf","x":"="}
		const jsonish = '{"name":"csrf","x":"="}';
		for (const origin of ['https://evil.example', sameSite]) {
			const start = await fetch(`${aco.url}/api/v1/workflows/quick/runs`, {
				method: 'POST',
				headers: { cookie, origin, 'content-type': form },
				body: ''
			});
			expect(start.status, origin).toBe(403);
			const create = await fetch(`${aco.url}/api/v1/tasks`, {
				method: 'POST',
				headers: { cookie, origin, 'content-type': 'text/plain' },
				body: jsonish
			});
			expect(create.status, origin).toBe(403);
		}
		// no Origin (a browser too old to send one): a form's content type is refused with the
		// cookie, also where no body is read (starting a run)
		const noOrigin = await fetch(`${aco.url}/api/v1/tasks`, {
			method: 'POST',
			headers: { cookie, 'content-type': 'text/plain' },
			body: jsonish
		});
		expect(noOrigin.status).toBeGreaterThanOrEqual(400);
		const bodiless = await fetch(`${aco.url}/api/v1/workflows/quick/runs`, {
			method: 'POST',
			headers: { cookie, 'content-type': form },
			body: ''
		});
		expect(bodiless.status).toBe(403);
		expect(((await bodiless.json()) as { error: { code: string } }).error.code).toBe('forbidden_origin');
		expect(await runsCount()).toBe(runs);
		expect(await tasksNamed('csrf')).toEqual([]);
		await healthy.expectHealthy();
	});

	it('answers programs that POST without a body whatever content type they name, in JSON', async () => {
		// curl -X POST -d '' sends application/x-www-form-urlencoded; programs send no Origin
		const start = await fetch(`${aco.url}/api/v1/workflows/quick/runs`, {
			method: 'POST',
			headers: { ...auth(OPERATOR), 'content-type': 'text/plain' }
		});
		expect(start.status).toBe(201);
		const { taskId } = await loggedTask('cancelled by curl', 'sleep', ['zzz']);
		const cancel = await fetch(`${aco.url}/api/v1/tasks/${taskId}/cancel`, {
			method: 'POST',
			headers: { ...auth(OPERATOR), 'content-type': 'application/x-www-form-urlencoded' },
			body: ''
		});
		expect(cancel.status).toBe(200);
		expect(((await cancel.json()) as TaskResponse).task.id).toBe(taskId);
		const missing = await fetch(`${aco.url}/api/v1/tasks/no-such-task/cancel`, {
			method: 'POST',
			headers: { ...auth(OPERATOR), 'content-type': 'application/x-www-form-urlencoded' },
			body: ''
		});
		expect(missing.status).toBe(404);
		expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
		// a page of another site is refused as ever, and told why in JSON rather than plain text
		const foreign = await fetch(`${aco.url}/api/v1/tasks/${taskId}/cancel`, {
			method: 'POST',
			headers: { ...auth(OPERATOR), origin: 'https://evil.example', 'content-type': 'text/plain' },
			body: ''
		});
		expect(foreign.status).toBe(403);
		expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('forbidden_origin');
		await healthy.expectHealthy();
	});

	it('answers a sign-in form it cannot read with 400 on the form, and logs page errors as JSON lines', async () => {
		const garbled = await fetch(`${aco.url}/signin`, {
			method: 'POST',
			redirect: 'manual',
			headers: { origin: aco.url, accept: 'text/html', 'content-type': 'multipart/form-data; boundary=xx' },
			body: 'garbage'
		});
		expect(garbled.status).toBe(400);
		expect(garbled.headers.get('set-cookie')).toBeNull();
		const html = await garbled.text();
		expect(html).toContain('The sign-in form could not be read; send it again.');
		expect(html).toMatch(/<form method="POST"/);
		// a malformed path on a page: SvelteKit's own 400, logged through the app's logger
		const page = await fetch(`${aco.url}/runs/%ZZ`, { headers: { ...auth(VIEWER), accept: 'text/html' } });
		expect(page.status).toBe(400);
		// the server wrote whatever it had to say before it answered; one more exchange lets it arrive
		await fetch(`${aco.url}/api/v1/healthz`);
		expect(aco.output()).not.toContain('Failed to parse body as FormData');
		expect(aco.output()).not.toContain('Failed to decode URI');
		// SvelteKit's own error printer writes coloured lines; the server's log is JSON
		expect(aco.output()).not.toContain('\x1b[');
		await healthy.expectHealthy();
	});

	it('answers a malformed percent-encoding in an API path with a JSON 400', async () => {
		for (const p of ['/api/v1/tasks/%ZZ', '/api/v1/executions/%E0%A4%A/log']) {
			const res = await fetch(`${aco.url}${p}`, { headers: auth(VIEWER) });
			expect(res.status, p).toBe(400);
			expect(res.headers.get('content-type'), p).toMatch(/^application\/json/);
			expect(((await res.json()) as { error: { code: string; message: string } }).error, p).toEqual({
				code: 'invalid_path',
				message: expect.stringContaining('percent-encoding') as string
			});
		}
		const post = await fetch(`${aco.url}/api/v1/tasks/%ZZ/cancel`, {
			method: 'POST',
			headers: auth(OPERATOR)
		});
		expect(post.status).toBe(400);
		// credentials are still asked for first
		expect((await fetch(`${aco.url}/api/v1/tasks/%ZZ`)).status).toBe(401);
	});

	it('sends the security headers on every page, API answer, static file and download', async () => {
		const { taskId, executionId } = await loggedTask('headers', 'html', ['<script>alert(1)</script>']);

		for (const page of ['/', `/tasks/${taskId}`, '/signin', '/no-such-page']) {
			const res = await fetch(`${aco.url}${page}`, { headers: auth(VIEWER), redirect: 'manual' });
			const csp = res.headers.get('content-security-policy') ?? '';
			expect(csp, page).toContain("frame-ancestors 'none'");
			expect(res.headers.get('x-content-type-options'), page).toBe('nosniff');
			expect(res.headers.get('referrer-policy'), page).toBe('same-origin');
			// a page names who is signed in: no cache shared between people may keep it
			if (res.headers.get('content-type')?.startsWith('text/html'))
				expect(res.headers.get('cache-control'), page).toBe('private, no-cache');
			if (res.headers.get('content-type')?.startsWith('text/html') && res.status === 200) {
				const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
				expect(scriptSrc, page).not.toContain('unsafe-inline');
				const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1];
				const html = await res.text();
				// every inline script carries the response's nonce
				for (const tag of html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? [])
					expect(tag).toContain(`nonce="${nonce}"`);
			}
		}
		// a workflow's name may end like a file's: its page is still a page (scripts run), and a
		// visitor who is not signed in is sent to sign in
		const named = await fetch(`${aco.url}/workflows/config.json`, { headers: auth(VIEWER) });
		expect(named.headers.get('content-type')).toMatch(/^text\/html/);
		expect(named.headers.get('content-security-policy')).toMatch(/script-src [^;]*'nonce-/);
		expect(named.headers.get('content-security-policy')).not.toContain('sandbox');
		const anonymous = await fetch(`${aco.url}/workflows/config.json`, { redirect: 'manual' });
		expect([anonymous.status, anonymous.headers.get('location')]).toEqual([
			303,
			`/signin?next=${encodeURIComponent('/workflows/config.json')}`
		]);

		const download = await fetch(`${aco.url}/api/v1/executions/${executionId}/log`, {
			headers: auth(VIEWER)
		});
		expect(download.headers.get('content-disposition')).toMatch(/^attachment;/);
		expect(download.headers.get('x-content-type-options')).toBe('nosniff');
		expect(download.headers.get('content-security-policy')).toContain('sandbox');
		expect(await download.text()).toBe('<script>alert(1)</script>\n');
		const ndjson = await fetch(`${aco.url}/api/v1/executions/${executionId}/log?format=ndjson`, {
			headers: auth(VIEWER)
		});
		expect(ndjson.headers.get('x-content-type-options')).toBe('nosniff');
		expect(ndjson.headers.get('content-disposition')).toMatch(/^attachment;/);

		const api = await fetch(`${aco.url}/api/v1/tasks`, { headers: auth(VIEWER) });
		expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
		const page = await (await fetch(`${aco.url}/`, { headers: auth(VIEWER) })).text();
		const asset = /"\.?(\/_app\/immutable\/[^"]+\.js)"/.exec(page)?.[1];
		expect(asset).toBeDefined();
		const file = await fetch(`${aco.url}${asset}`);
		expect(file.status).toBe(200);
		expect(file.headers.get('x-content-type-options')).toBe('nosniff');
		await healthy.expectHealthy();
	});

	it('refuses an upgrade with 2,004 header lines (23 KB) with 431, and a request with them too', async () => {
		const lines = Array.from({ length: 2_000 }, (_, i) => `x-h${i}: v`);
		const upgrade = [
			'GET /ws HTTP/1.1',
			`Host: ${host}`,
			'Upgrade: websocket',
			'Connection: Upgrade',
			`Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
			'Sec-WebSocket-Version: 13',
			`Authorization: Bearer ${VIEWER}`,
			...lines.slice(0, 1_998),
			'',
			''
		].join('\r\n');
		expect(upgrade.split('\r\n').length - 3).toBe(2_004);
		expect(upgrade.length).toBeGreaterThan(22_000);
		expect((await rawExchange(aco.port, upgrade)).split('\r\n')[0]).toBe(
			'HTTP/1.1 431 Request Header Fields Too Large'
		);
		const get = ['GET /api/v1/healthz HTTP/1.1', `Host: ${host}`, ...lines, '', ''].join('\r\n');
		expect((await rawExchange(aco.port, get)).split('\r\n')[0]).toMatch(/^HTTP\/1.1 431/);
		// a header block beyond maxHeaderSize is refused by Node's parser, also with 431
		const huge = [
			'GET /api/v1/healthz HTTP/1.1',
			`Host: ${host}`,
			`x-big: ${'a'.repeat(20_000)}`,
			'',
			''
		].join('\r\n');
		expect((await rawExchange(aco.port, huge)).split('\r\n')[0]).toMatch(/^HTTP\/1.1 431/);
		await healthy.expectHealthy();
	});

	it('closes 50 connections flooding 1-byte continuation frames with 1008, with memory bounded and healthy clients served', async () => {
		const before = peakRss(aco.proc.pid!);
		const flood = floodBytes(20_000);
		const codes = await Promise.all(
			Array.from({ length: 50 }, () => fragmentFlood(aco.port, flood, { authorization: `Bearer ${VIEWER}` }))
		);
		expect(codes).toEqual(Array(50).fill(1008));
		const grown = peakRss(aco.proc.pid!) - before;
		// ws's default (16,384 fragments a message) let this flood grow the server by over 100 MB
		expect(grown).toBeLessThan(40 * 1024 * 1024);
		// every line reached every healthy client, in order (their latency is measured in `npm run bench -- ws-flood`)
		await healthy.expectHealthy();
	});

	it('keeps answering health checks while viewers run catastrophically backtracking regex searches, which end with documented errors', async () => {
		const { executionId } = await loggedTask(
			'hostile-search',
			'as',
			Array.from({ length: 50 }, () => 'a'.repeat(40))
		);

		// (a+)+b<i> never matches a line of a's and backtracks 2^40 ways on each: only a time limit ends it
		let pending = 16;
		const hostile = Array.from({ length: 16 }, (_, i) =>
			fetch(
				`${aco.url}/api/v1/executions/${executionId}/search?regex=1&q=${encodeURIComponent(`(a+)+b${i}`)}`,
				{ headers: auth(i % 2 ? VIEWER : OPERATOR) }
			).then(async (res) => {
				pending--;
				const body = (await res.json()) as { error?: { code: string } };
				return { status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after') };
			})
		);
		// the searches that run are still matching (each until its time limit) when the health check answers
		const health = await fetch(`${aco.url}/api/v1/healthz`);
		expect(health.status).toBe(200);
		expect(pending).toBeGreaterThan(0);

		const answers = await Promise.all(hostile);
		for (const answer of answers) {
			if (answer.status === 400) expect(answer.code).toBe('search_timeout');
			else {
				expect([429, 503]).toContain(answer.status);
				expect(['too_many_searches', 'search_busy']).toContain(answer.code);
				expect(Number(answer.retryAfter)).toBeGreaterThan(0);
			}
		}
		// a caller runs a few at a time; the rest are refused at once instead of queueing without bound
		expect(answers.filter((a) => a.status === 400).length).toBeGreaterThan(0);
		expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0);
		// the node still searches normally afterwards
		const plain = await fetch(`${aco.url}/api/v1/executions/${executionId}/search?q=aaa&limit=1`, {
			headers: auth(VIEWER)
		});
		expect(plain.status).toBe(200);
		expect(((await plain.json()) as { total: number }).total).toBe(50);
		await healthy.expectHealthy();
	});

	it('keeps the data folder private: 0700 (tightened at start), the database and its WAL 0600', () => {
		expect(fs.statSync(aco.dataDir).mode & 0o777).toBe(0o700);
		for (const file of ['aco.db', 'aco.db-wal', 'aco.lock']) {
			expect(fs.statSync(path.join(aco.dataDir, file)).mode & 0o777, file).toBe(0o600);
		}
	});
});
