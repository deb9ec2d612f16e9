import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAccessConfig } from '../config';
import { createLogger } from '../logger';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { AuthService } from './auth';
import { checkRequest, isPagePath, type RequestFacts } from './guard';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const HOST = '127.0.0.1:3000';

function facts(overrides: Partial<RequestFacts> = {}): RequestFacts {
	return {
		method: 'GET',
		path: '/api/v1/tasks',
		host: HOST,
		origin: null,
		authorization: null,
		session: null,
		...overrides
	};
}
const bearer = (token: string) => `Bearer ${token}`;

describe('request guard', () => {
	let store: Store;
	let auth: AuthService;

	const build = (env: Record<string, string>, now?: () => number) => {
		const service = new AuthService({
			config: loadAccessConfig(env),
			bindHost: '127.0.0.1',
			store,
			logger: createLogger('silent'),
			now
		});
		service.listening(3000);
		return service;
	};

	beforeEach(() => {
		store = openSqliteStore('', { filename: ':memory:' });
		auth = build({ ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` });
	});
	afterEach(async () => {
		auth.close();
		await store.close();
	});

	it('lets anyone on loopback act as the operator when no credentials are configured', async () => {
		const open = build({});
		expect(
			await checkRequest(open, facts({ method: 'POST', path: '/api/v1/workflows/demo/runs' }))
		).toMatchObject({
			kind: 'allow',
			principal: { role: 'operator', via: 'anonymous' }
		});
		// the Host check holds without credentials too: it is what stops DNS rebinding
		expect(await checkRequest(open, facts({ host: 'evil.example:3000' }))).toMatchObject({
			status: 403,
			code: 'forbidden_host'
		});
	});

	it('asks for credentials on the API (401) and sends a page to the sign-in page', async () => {
		expect(await checkRequest(auth, facts())).toMatchObject({
			kind: 'deny',
			status: 401,
			code: 'unauthorized',
			headers: { 'www-authenticate': 'Bearer realm="aco"' }
		});
		expect(await checkRequest(auth, facts({ path: '/tasks/task_1' }))).toEqual({ kind: 'sign_in' });
		// a workflow's name may hold a dot: still a page
		for (const path of ['/workflows/deploy.prod', '/workflows/release-1.2'])
			expect(await checkRequest(auth, facts({ path }))).toEqual({ kind: 'sign_in' });
		// even a name that ends like a file, once the path matched the page's route
		const named = { path: '/workflows/config.json', routeId: '/workflows/[name]' };
		expect(await checkRequest(auth, facts(named))).toEqual({ kind: 'sign_in' });
		expect(isPagePath(named.path, named.routeId)).toBe(true);
		expect(isPagePath(named.path, null)).toBe(false);
		expect(isPagePath('/api/v1/workflows/config.json', '/api/v1/workflows/[name]')).toBe(false);
		expect(isPagePath('/metrics', '/metrics')).toBe(false);
		expect(await checkRequest(auth, facts({ path: '/metrics' }))).toMatchObject({ status: 401 });
		expect(await checkRequest(auth, facts({ path: '/ws' }))).toMatchObject({ status: 401 });
	});

	it('refuses a forged token and an ended session', async () => {
		expect(
			await checkRequest(auth, facts({ authorization: bearer('forged-token-0123456789') }))
		).toMatchObject({
			status: 401,
			headers: { 'www-authenticate': 'Bearer realm="aco", error="invalid_token"' }
		});
		expect(await checkRequest(auth, facts({ session: 'made-up' }))).toMatchObject({ status: 401 });
		expect(await checkRequest(auth, facts({ path: '/', session: 'made-up' }))).toEqual({
			kind: 'sign_in',
			reason: 'expired'
		});
	});

	it('lets a viewer read and refuses its changes with 403; an operator may both', async () => {
		const viewer = { authorization: bearer(VIEWER) };
		expect(await checkRequest(auth, facts(viewer))).toMatchObject({
			kind: 'allow',
			principal: { role: 'viewer' }
		});
		expect(
			await checkRequest(auth, facts({ ...viewer, method: 'POST', path: '/api/v1/runs/r/cancel' }))
		).toMatchObject({
			status: 403,
			code: 'forbidden'
		});
		expect(
			await checkRequest(
				auth,
				facts({ authorization: bearer(OPERATOR), method: 'POST', path: '/api/v1/runs/r/cancel' })
			)
		).toMatchObject({ kind: 'allow', principal: { role: 'operator', via: 'token' } });
	});

	it('accepts a session cookie like the token it came from', async () => {
		const { value } = await auth.sessions.create(auth.tokens.verify(VIEWER)!);
		expect(await checkRequest(auth, facts({ session: value }))).toMatchObject({
			kind: 'allow',
			principal: { role: 'viewer', via: 'session' }
		});
		expect(
			await checkRequest(auth, facts({ session: value, method: 'POST', path: '/api/v1/tasks' }))
		).toMatchObject({
			status: 403
		});
		// a wrong bearer token is not rescued by a good cookie
		expect(
			await checkRequest(auth, facts({ session: value, authorization: bearer('forged-token-0123456789') }))
		).toMatchObject({
			status: 401
		});
	});

	it("takes the session cookie beside another scheme's Authorization (a proxy's HTTP Basic), which exempts nothing", async () => {
		const basic = 'Basic dXNlcjpwYXNz';
		const { value } = await auth.sessions.create(auth.tokens.verify(OPERATOR)!);
		expect(await checkRequest(auth, facts({ authorization: basic, session: value }))).toMatchObject({
			kind: 'allow',
			principal: { role: 'operator', via: 'session' }
		});
		// without a session it is as if nothing came: a page goes to sign in, the API says what is missing
		expect(await checkRequest(auth, facts({ authorization: basic, path: '/' }))).toEqual({ kind: 'sign_in' });
		expect(await checkRequest(auth, facts({ authorization: basic }))).toMatchObject({
			status: 401,
			headers: { 'www-authenticate': 'Bearer realm="aco"' }
		});
		// it is no bearer token: a form posted without an Origin is refused, as with the cookie alone
		expect(
			await checkRequest(
				auth,
				facts({
					method: 'POST',
					path: '/api/v1/tasks/t/cancel',
					contentType: 'text/plain',
					authorization: basic,
					session: value
				})
			)
		).toMatchObject({ status: 403, code: 'forbidden_origin' });
		// a Bearer header without its token is still a wrong bearer token
		expect(await checkRequest(auth, facts({ authorization: 'Bearer', session: value }))).toMatchObject({
			status: 401,
			headers: { 'www-authenticate': 'Bearer realm="aco", error="invalid_token"' }
		});
	});

	it('makes a client that presented too many wrong tokens wait (429), its next token not looked at', async () => {
		const clock = { ms: Date.now() };
		auth.close();
		auth = build({ ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` }, () => clock.ms);
		const guesser = { address: '203.0.113.9' };
		for (let i = 0; i < 10; i++) {
			expect(
				await checkRequest(auth, facts({ ...guesser, authorization: bearer(`guess-${i}-0123456789abcdef`) }))
			).toMatchObject({ status: 401 });
		}
		const waiting = await checkRequest(auth, facts({ ...guesser, authorization: bearer(OPERATOR) }));
		expect(waiting).toMatchObject({
			kind: 'deny',
			status: 429,
			code: 'too_many_attempts',
			message: expect.stringMatching(/^Too many wrong tokens from this address: try again in 6 s\./),
			headers: { 'retry-after': '6' }
		});
		// so does the hub's upgrade from there; another address is not held, nor a session from there
		expect(
			await checkRequest(auth, facts({ ...guesser, path: '/ws', authorization: bearer(VIEWER) }))
		).toMatchObject({
			status: 429
		});
		expect(
			await checkRequest(auth, facts({ address: '203.0.113.10', authorization: bearer(OPERATOR) }))
		).toMatchObject({ kind: 'allow' });
		const { value } = await auth.sessions.create(auth.tokens.verify(VIEWER)!);
		expect(await checkRequest(auth, facts({ ...guesser, session: value }))).toMatchObject({ kind: 'allow' });
		// an ended session is no guess
		for (let i = 0; i < 12; i++) {
			expect(
				await checkRequest(auth, facts({ address: '203.0.113.11', session: `gone-${i}` }))
			).toMatchObject({
				status: 401
			});
		}
		expect(
			await checkRequest(auth, facts({ address: '203.0.113.11', authorization: bearer(OPERATOR) }))
		).toMatchObject({ kind: 'allow' });
		// a token taken from there before the guessing still is (behind one NAT, say)
		const office = { address: '203.0.113.12' };
		expect(await checkRequest(auth, facts({ ...office, authorization: bearer(VIEWER) }))).toMatchObject({
			kind: 'allow'
		});
		for (let i = 0; i < 10; i++)
			await checkRequest(auth, facts({ ...office, authorization: bearer(`stale-${i}-0123456789abcdef`) }));
		expect(await checkRequest(auth, facts({ ...office, authorization: bearer(VIEWER) }))).toMatchObject({
			kind: 'allow'
		});
		expect(await checkRequest(auth, facts({ ...office, authorization: bearer(OPERATOR) }))).toMatchObject({
			status: 429
		});
		// a guesser there goes on: its wrong tokens still count, and the pass closes for everyone
		for (let i = 0; i < 10; i++)
			await checkRequest(auth, facts({ ...office, authorization: bearer(`more-${i}-0123456789abcdef`) }));
		expect(await checkRequest(auth, facts({ ...office, authorization: bearer(VIEWER) }))).toMatchObject({
			status: 429
		});
		// a try comes back every 6 s
		clock.ms += 6_000;
		expect(await checkRequest(auth, facts({ ...guesser, authorization: bearer(OPERATOR) }))).toMatchObject({
			kind: 'allow'
		});
	});

	it('answers at once unless a sign-in session must be looked up, with the same verdicts', async () => {
		// tokens, missing credentials and Host/Origin refusals need no I/O: no promise to wait on
		for (const request of [
			facts({ authorization: bearer(VIEWER), path: '/ws' }),
			facts({ authorization: bearer('forged-token-0123456789'), path: '/ws' }),
			facts({ path: '/ws' }),
			facts({ host: 'evil.example:3000', path: '/ws' })
		]) {
			expect(checkRequest(auth, request)).not.toBeInstanceOf(Promise);
		}
		expect(checkRequest(build({}), facts({ path: '/ws' }))).toMatchObject({
			kind: 'allow',
			principal: { via: 'anonymous' }
		});
		const { value } = await auth.sessions.create(auth.tokens.verify(VIEWER)!);
		const pending = checkRequest(auth, facts({ session: value, path: '/ws' }));
		expect(pending).toBeInstanceOf(Promise);
		expect(await pending).toMatchObject({ kind: 'allow', principal: { role: 'viewer', via: 'session' } });
	});

	it('checks Host and Origin before credentials, on public paths too', async () => {
		const operator = { authorization: bearer(OPERATOR) };
		expect(await checkRequest(auth, facts({ ...operator, host: 'evil.example:3000' }))).toMatchObject({
			code: 'forbidden_host'
		});
		expect(
			await checkRequest(
				auth,
				facts({ ...operator, method: 'POST', path: '/api/v1/tasks', origin: 'http://evil.example:3000' })
			)
		).toMatchObject({ status: 403, code: 'forbidden_origin' });
		// a load balancer asks for the health check by the node's internal name
		expect(await checkRequest(auth, facts({ path: '/api/v1/healthz', host: 'aco-1:3000' }))).toMatchObject({
			kind: 'allow'
		});
		expect(await checkRequest(auth, facts({ path: '/signin', host: 'evil.example' }))).toMatchObject({
			code: 'forbidden_host'
		});
	});

	it('refuses a form posted to a page that names no Origin, and lets programs post to the API without one', async () => {
		const form = 'application/x-www-form-urlencoded';
		for (const path of ['/signin', '/signout', '/tasks/task_1']) {
			for (const contentType of [form, 'multipart/form-data; boundary=x', 'Text/Plain;charset=UTF-8']) {
				expect(
					await checkRequest(auth, facts({ method: 'POST', path, contentType })),
					`${path} ${contentType}`
				).toMatchObject({
					status: 403,
					code: 'forbidden_origin'
				});
			}
			// from the server's own page
			expect(
				await checkRequest(
					auth,
					facts({ method: 'POST', path, contentType: form, origin: 'http://127.0.0.1:3000' })
				)
			).not.toMatchObject({ code: 'forbidden_origin' });
		}
		expect(
			await checkRequest(auth, facts({ method: 'POST', path: '/signin', contentType: 'application/json' }))
		).toMatchObject({
			kind: 'allow'
		});
		expect(
			await checkRequest(
				auth,
				facts({
					method: 'POST',
					path: '/api/v1/tasks/t/cancel',
					contentType: form,
					authorization: bearer(OPERATOR)
				})
			)
		).toMatchObject({ kind: 'allow' });
		expect(
			await checkRequest(auth, facts({ path: '/', contentType: form, authorization: bearer(VIEWER) }))
		).toMatchObject({
			kind: 'allow'
		});
	});

	it('refuses a change asked with a form content type and no Origin on the API too, with a session or nothing, but not with a bearer token', async () => {
		// a form needs no body to start a run or cancel one: an old browser that sends no Origin would carry the cookie
		const operatorSession = (await auth.sessions.create(auth.tokens.verify(OPERATOR)!)).value;
		for (const path of ['/api/v1/workflows/quick/runs', '/api/v1/tasks/t/cancel', '/api/v1/runs/r/cancel']) {
			for (const contentType of [
				'application/x-www-form-urlencoded',
				'text/plain',
				'multipart/form-data; boundary=x'
			]) {
				expect(
					await checkRequest(auth, facts({ method: 'POST', path, contentType, session: operatorSession })),
					`${path} ${contentType}`
				).toMatchObject({ status: 403, code: 'forbidden_origin' });
			}
			// programs: JSON, no content type, or a token
			for (const more of [
				{ contentType: 'application/json', session: operatorSession },
				{ contentType: null, session: operatorSession },
				{ contentType: 'text/plain', authorization: bearer(OPERATOR) }
			]) {
				expect(await checkRequest(auth, facts({ method: 'POST', path, ...more }))).toMatchObject({
					kind: 'allow'
				});
			}
		}
	});

	it('gives clients inside the process an operator token of their own, only when credentials are needed', async () => {
		const local = auth.localToken()!;
		expect(local).toMatch(/^[\w-]{43}$/);
		expect(auth.localToken()).toBe(local);
		expect(
			await checkRequest(auth, facts({ authorization: bearer(local), method: 'POST', path: '/api/v1/tasks' }))
		).toMatchObject({ kind: 'allow', principal: { role: 'operator', name: 'in-process' } });
		expect(build({}).localToken()).toBeUndefined();
	});

	it('opens the sign-in page, sign-out, the health check and the app files without credentials', async () => {
		for (const path of [
			'/signin',
			'/signout',
			'/api/v1/healthz',
			'/_app/immutable/entry/start.js',
			'/favicon.svg'
		]) {
			expect(await checkRequest(auth, facts({ path }))).toEqual({ kind: 'allow', principal: null });
		}
		expect(await checkRequest(auth, facts({ method: 'POST', path: '/signin' }))).toMatchObject({
			kind: 'allow'
		});
	});
});
