/**
 * Credentials and roles against the real server, tried as an attacker would: no token, a forged
 * one, an expired session, a viewer doing an operator's work, a refused producer. Each case
 * checks that nothing happened (no run started, no task created, nothing cancelled) and that the
 * healthy subscribers kept receiving meanwhile.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlMessage, RunResponse, RunsResponse, TasksResponse } from '../../src/lib/protocol';
import { HealthyClients } from '../helpers/healthy-clients';
import { signInCookie } from '../helpers/sign-in';
import { ROOT, startAco, tempDir, type AcoProcess, type StartOptions } from '../helpers/server';
import { connect, upgradeRequest } from '../helpers/ws-client';

const OPERATOR = 'sec-operator-token-0123456789';
const VIEWER = 'sec-viewer-token-0123456789';
const FORGED = 'sec-forged-token-0123456789';
const SESSION_MAX_AGE_MS = 3_000;

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('credentials and roles', () => {
	let aco: AcoProcess;
	let healthy: HealthyClients;

	async function request(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
		const res = await fetch(`${aco.url}${path}`, {
			method,
			redirect: 'manual',
			headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		const text = await res.text();
		return {
			status: res.status,
			headers: res.headers,
			text,
			json: () => JSON.parse(text) as { error: { code: string; message: string } }
		};
	}

	const runsCount = async () =>
		((await (await fetch(`${aco.url}/api/v1/runs`, { headers: auth(OPERATOR) })).json()) as RunsResponse).runs
			.length;
	const tasksCount = async () =>
		((await (await fetch(`${aco.url}/api/v1/tasks`, { headers: auth(OPERATOR) })).json()) as TasksResponse)
			.tasks.length;

	const signIn = (token: string) => signInCookie(aco.url, token);

	beforeAll(async () => {
		aco = await startAco({
			workflowsDir: path.join(ROOT, 'tests/fixtures/workflows'),
			env: {
				ACO_TOKEN: OPERATOR,
				ACO_TOKENS: `viewer:${VIEWER}`,
				ACO_SESSION_MAX_AGE_MS: String(SESSION_MAX_AGE_MS),
				ACO_SESSION_CHECK_MS: '500'
			}
		});
		healthy = await HealthyClients.start(aco, { token: VIEWER, operatorToken: OPERATOR });
	});
	afterAll(async () => {
		await healthy?.stop();
		await aco?.stop();
	});

	it('refuses every read and write without a token: 401 on REST and before the 101 on the hub, and a page goes to sign-in', async () => {
		const runs = await runsCount();
		for (const path of [
			'/api/v1/tasks',
			'/api/v1/runs',
			'/api/v1/workflows',
			'/metrics',
			'/api/v1/realtime/stats'
		]) {
			const res = await request('GET', path);
			expect(res.status, path).toBe(401);
			expect(res.headers.get('www-authenticate')).toBe('Bearer realm="aco"');
			expect(res.json().error.message).toMatch(/Authorization: Bearer/);
		}
		const log = await request('GET', `/api/v1/executions/exec_anything/log`);
		expect(log.status).toBe(401);
		expect((await request('POST', '/api/v1/workflows/quick/runs')).status).toBe(401);
		const page = await request('GET', '/tasks/task_1?exec=x');
		expect(page.status).toBe(303);
		expect(page.headers.get('location')).toBe('/signin?next=%2Ftasks%2Ftask_1%3Fexec%3Dx');
		const upgrade = await upgradeRequest(aco.wsUrl);
		expect(upgrade.status).toBe(401);
		expect(JSON.parse(upgrade.body)).toMatchObject({ error: { code: 'unauthorized' } });
		expect(await runsCount()).toBe(runs);
		// the health check stays open for load balancers
		expect((await request('GET', '/api/v1/healthz')).status).toBe(200);
		await healthy.expectHealthy();
	});

	it('refuses a forged token the same way, on REST and on the hub', async () => {
		const runs = await runsCount();
		const read = await request('GET', '/api/v1/tasks', auth(FORGED));
		expect(read.status).toBe(401);
		expect(read.headers.get('www-authenticate')).toContain('invalid_token');
		expect((await request('POST', '/api/v1/workflows/quick/runs', auth(FORGED))).status).toBe(401);
		expect((await upgradeRequest(aco.wsUrl, auth(FORGED))).status).toBe(401);
		// a token never shows up in the server's log, not even a wrong one
		expect(aco.output()).not.toContain(FORGED);
		expect(aco.output()).not.toContain(OPERATOR);
		expect(await runsCount()).toBe(runs);
		await healthy.expectHealthy();
	});

	it('lets a viewer read and subscribe, and refuses its runs, cancels and ingest with 403 and no effect', async () => {
		expect((await request('GET', '/api/v1/tasks', auth(VIEWER))).status).toBe(200);
		const started = await request('POST', '/api/v1/workflows/slow/runs', auth(OPERATOR));
		expect(started.status).toBe(201);
		const run = (JSON.parse(started.text) as RunResponse).run;
		const runs = await runsCount();
		const tasks = await tasksCount();

		const start = await request('POST', '/api/v1/workflows/quick/runs', auth(VIEWER));
		expect(start.status).toBe(403);
		expect(start.json().error).toMatchObject({ code: 'forbidden' });
		expect(start.json().error.message).toMatch(/operator role/);
		expect((await request('POST', `/api/v1/runs/${run.id}/cancel`, auth(VIEWER))).status).toBe(403);
		expect((await request('POST', '/api/v1/tasks', auth(VIEWER), { name: 'sneaky' })).status).toBe(403);

		expect(await runsCount()).toBe(runs);
		expect(await tasksCount()).toBe(tasks);
		const after = (await (
			await fetch(`${aco.url}/api/v1/runs/${run.id}`, { headers: auth(VIEWER) })
		).json()) as RunResponse;
		expect(['queued', 'running']).toContain(after.run.status);
		expect((await request('POST', `/api/v1/runs/${run.id}/cancel`, auth(OPERATOR))).status).toBe(200);

		const viewer = await connect(aco.wsUrl, { headers: auth(VIEWER) });
		await viewer.nextOfType('welcome');
		const refused = await viewer.request<ControlMessage<'error'>>({
			type: 'ingest.create_task',
			task: { name: 'x' }
		});
		expect(refused.data.code).toBe('unauthorized');
		expect(viewer.isOpen).toBe(true);
		await viewer.close();
		expect(await tasksCount()).toBe(tasks);
		await healthy.expectHealthy();
	});

	it('closes a producer whose hello is refused: a forged token with 4500, a viewer with 4504', async () => {
		const tasks = await tasksCount();
		const cases = [
			{ headers: auth(VIEWER), hello: { token: FORGED }, code: 4500, error: 'unauthorized' },
			{ headers: auth(VIEWER), hello: {}, code: 4504, error: 'forbidden' },
			{ headers: auth(VIEWER), hello: { token: VIEWER }, code: 4504, error: 'forbidden' }
		];
		for (const c of cases) {
			const producer = await connect(aco.wsUrl, { headers: c.headers });
			await producer.nextOfType('welcome');
			const reply = await producer.request<ControlMessage<'error'>>({ type: 'producer.hello', ...c.hello });
			expect(reply.data.code).toBe(c.error);
			expect((await producer.waitForClose(5_000)).code).toBe(c.code);
		}
		// an operator's connection needs no hello token
		const operator = await connect(aco.wsUrl, { headers: auth(OPERATOR) });
		await operator.nextOfType('welcome');
		const hello = await operator.request({ type: 'producer.hello' });
		expect(hello).toMatchObject({ type: 'ingest.ack', data: { authenticated: true } });
		await operator.close();
		expect(await tasksCount()).toBe(tasks);
		await healthy.expectHealthy();
	});

	it('signs a browser in for a cookie session that works like its token until it expires, then refuses it', async () => {
		const cookie = await signIn(VIEWER);
		const session = await request('GET', '/api/v1/session', { cookie });
		expect(session.status).toBe(200);
		expect(JSON.parse(session.text)).toMatchObject({ role: 'viewer', via: 'session', auth_required: true });
		expect((await request('POST', '/api/v1/workflows/quick/runs', { cookie, origin: aco.url })).status).toBe(
			403
		);
		const socket = await connect(aco.wsUrl, { headers: { cookie } });
		await socket.nextOfType('welcome');

		// the session ends at its maximum age: its socket is closed with 4503 and the cookie refused
		expect((await socket.waitForClose(SESSION_MAX_AGE_MS + 10_000)).code).toBe(4503);
		const expired = await request('GET', '/api/v1/tasks', { cookie });
		expect(expired.status).toBe(401);
		expect(expired.json().error.message).toMatch(/expired/);
		expect(expired.headers.get('set-cookie')).toMatch(/aco_session=;/);
		expect((await upgradeRequest(aco.wsUrl, { cookie })).status).toBe(401);
		const page = await request('GET', '/', { cookie });
		expect(page.headers.get('location')).toBe('/signin?reason=expired');
		await healthy.expectHealthy();
	});

	it('refuses a sign-in with a wrong token and sets no cookie', async () => {
		const res = await fetch(`${aco.url}/signin`, {
			method: 'POST',
			redirect: 'manual',
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: aco.url },
			body: new URLSearchParams({ token: FORGED })
		});
		expect(res.status).toBe(401);
		expect(res.headers.get('set-cookie')).toBeNull();
		await healthy.expectHealthy();
	});
});

describe('the session cookie behind TLS', () => {
	const PUBLIC_URL = 'https://aco.example.test';
	const PUBLIC_HOST = new URL(PUBLIC_URL).host;
	let aco: AcoProcess;
	beforeAll(async () => {
		aco = await startAco({ env: { ACO_TOKEN: OPERATOR, ACO_PUBLIC_URL: PUBLIC_URL } });
	});
	afterAll(async () => {
		await aco?.stop();
	});

	/** A request as the TLS proxy passes it on: for the public host, the page's own origin. */
	function proxied(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
		return new Promise<{ status: number; setCookie: string[] }>((resolve, reject) => {
			const req = http.request(`${aco.url}${path}`, {
				method,
				headers: { host: PUBLIC_HOST, origin: PUBLIC_URL, ...headers }
			});
			req.on('response', (res) => {
				res.resume();
				res.on('end', () =>
					resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [] })
				);
				res.on('error', reject);
			});
			req.on('error', reject);
			req.end(body);
		});
	}

	it('is a __Host- cookie (Secure, Path=/, no Domain) that REST and the hub take, under that name only, and sign-out clears', async () => {
		const signedIn = await proxied(
			'POST',
			'/signin',
			{ 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
			new URLSearchParams({ token: OPERATOR, next: '/' }).toString()
		);
		expect(signedIn.status).toBe(303);
		expect(signedIn.setCookie).toHaveLength(1);
		const [pair, ...attributes] = signedIn.setCookie[0]!.split(';').map((part) => part.trim());
		expect(pair).toMatch(/^__Host-aco_session=[\w-]+$/);
		const lower = attributes.map((attribute) => attribute.toLowerCase());
		expect(lower).toContain('secure');
		expect(lower).toContain('path=/');
		expect(lower.some((attribute) => attribute.startsWith('domain'))).toBe(false);

		const cookie = pair!;
		expect((await proxied('GET', '/api/v1/tasks', { cookie })).status).toBe(200);
		expect((await upgradeRequest(aco.wsUrl, { Host: PUBLIC_HOST, Origin: PUBLIC_URL, cookie })).status).toBe(
			101
		);
		// the same session under the plain-http name is not read: that name anyone could have set
		const plain = `aco_session=${cookie.slice(cookie.indexOf('=') + 1)}`;
		expect((await proxied('GET', '/api/v1/tasks', { cookie: plain })).status).toBe(401);
		expect(
			(await upgradeRequest(aco.wsUrl, { Host: PUBLIC_HOST, Origin: PUBLIC_URL, cookie: plain })).status
		).toBe(401);

		const signedOut = await proxied('POST', '/signout', { cookie });
		expect(signedOut.status).toBe(303);
		// a browser drops a __Host- cookie only when told so with Secure and Path=/
		expect(signedOut.setCookie).toHaveLength(1);
		expect(signedOut.setCookie[0]).toMatch(/^__Host-aco_session=;/);
		expect(signedOut.setCookie[0]!.toLowerCase()).toMatch(/; secure(;|$)/);
		expect(signedOut.setCookie[0]!.toLowerCase()).toContain('path=/');
		expect((await proxied('GET', '/api/v1/tasks', { cookie })).status).toBe(401);
	});
});

describe('guessing tokens', () => {
	let aco: AcoProcess;
	beforeAll(async () => {
		aco = await startAco({
			env: { ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}`, ACO_AUTH_FAILURES_PER_MINUTE: '3' }
		});
	});
	afterAll(async () => {
		await aco?.stop();
	});

	const signIn = (token: string) =>
		fetch(`${aco.url}/signin`, {
			method: 'POST',
			redirect: 'manual',
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: aco.url },
			body: new URLSearchParams({ token })
		});

	it('makes a client that presented too many wrong tokens wait, on the sign-in form, REST and the producer hello alike, but for a token taken from it before; logging it twice', async () => {
		// a session made before: a cookie is no guess, and is not held; nor is the token it was made with
		const signedIn = await signIn(VIEWER);
		expect(signedIn.status).toBe(303);
		const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
		for (let i = 0; i < 3; i++) expect((await signIn(`${FORGED}-${i}`)).status).toBe(401);
		// out of tries: even the right token is not looked at, wherever it is presented
		const form = await signIn(OPERATOR);
		expect(form.status).toBe(429);
		expect(form.headers.get('set-cookie')).toBeNull();
		expect(Number(form.headers.get('retry-after'))).toBeGreaterThan(0);
		expect(await form.text()).toContain('Too many wrong tokens from this address: try again in');
		const rest = await fetch(`${aco.url}/api/v1/tasks`, { headers: auth(OPERATOR) });
		expect(rest.status).toBe(429);
		expect(((await rest.json()) as { error: { code: string } }).error.code).toBe('too_many_attempts');
		expect((await upgradeRequest(aco.wsUrl, auth(OPERATOR))).status).toBe(429);
		expect((await fetch(`${aco.url}/api/v1/tasks`, { headers: { cookie } })).status).toBe(200);
		expect((await fetch(`${aco.url}/api/v1/tasks`, { headers: auth(VIEWER) })).status).toBe(200);
		const producer = await connect(aco.wsUrl, { headers: { cookie } });
		await producer.nextOfType('welcome');
		const reply = await producer.request<ControlMessage<'error'>>({
			type: 'producer.hello',
			token: OPERATOR
		});
		expect(reply.data.code).toBe('too_many_attempts');
		expect((await producer.waitForClose(5_000)).code).toBe(4004);
		// the log says when the guessing started and when the client ran out, not every guess
		const lines = aco.output().split('\n');
		expect(lines.filter((line) => line.includes('this server does not know')).length).toBe(2);
	});
});

/** What aco said when it refused to start; '' (after stopping it) when it started after all. */
async function refusal(options: StartOptions): Promise<string> {
	return startAco(options).then(
		async (aco) => {
			await aco.stop();
			return '';
		},
		(err: Error) => err.message
	);
}

describe('binding beyond loopback', () => {
	it('refuses to start without credentials, saying how to configure them', async () => {
		const started = startAco({ env: { HOST: '0.0.0.0' }, dataDir: tempDir() });
		await expect(started).rejects.toThrow(/refusing to listen on 0.0.0.0 without credentials.*ACO_TOKEN/);
	});

	it('refuses to start behind a proxy on loopback when every token of its file was commented out', async () => {
		// the README's "Behind TLS" setup after a revocation: the proxy connects from 127.0.0.1
		const dir = tempDir();
		const file = path.join(dir, 'tokens');
		fs.writeFileSync(file, `# operator ${OPERATOR} alice (revoked)\n\n`, { mode: 0o600 });
		const refused = await refusal({
			env: { HOST: '127.0.0.1', ACO_PUBLIC_URL: 'https://aco.example.com', ACO_TOKENS_FILE: file },
			dataDir: path.join(dir, 'data')
		});
		expect(refused).toMatch(
			new RegExp(`ACO_TOKENS_FILE: ${file} holds no token.*refusing to start without credentials.*Add a line`)
		);
		expect(refused).not.toContain(OPERATOR);
	});

	it('refuses to start published by ACO_PUBLIC_URL on loopback without any token', async () => {
		const refused = await refusal({ env: { ACO_PUBLIC_URL: 'https://aco.example.com' }, dataDir: tempDir() });
		expect(refused).toMatch(
			/refusing to start without credentials: ACO_PUBLIC_URL \(https:\/\/aco\.example\.com\).*ACO_TOKEN=.*or unset ACO_PUBLIC_URL/
		);
	});

	it('still starts open to loopback callers when nothing is configured', async () => {
		const aco = await startAco({ dataDir: tempDir() });
		try {
			expect(aco.output()).toContain('"required":false');
			const session = await fetch(`${aco.url}/api/v1/session`);
			expect(session.status).toBe(200);
			expect(await session.json()).toMatchObject({ role: 'operator', auth_required: false });
		} finally {
			await aco.stop();
		}
	});
});
