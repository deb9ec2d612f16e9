import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AcoHttp, UnreachableError } from './http';

/** A server on port 0 answering every request with `handle`; closed after each test. */
async function serve(handle: http.RequestListener): Promise<string> {
	const server = http.createServer(handle);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('AcoHttp.request against a server that is not aco', () => {
	it("names the URL, the status and the content type when a success is not aco's JSON", async () => {
		const bodies: Record<string, [string | undefined, string]> = {
			'/api/v1/page': ['text/html; charset=utf-8', '<!doctype html><p>welcome'],
			'/api/v1/empty': [undefined, ''],
			'/api/v1/other': ['application/json', '{"ok":true}']
		};
		const url = await serve((req, res) => {
			const [type, body] = bodies[req.url!];
			if (type) res.setHeader('content-type', type);
			res.end(body);
		});
		const client = new AcoHttp({ url, token: undefined });
		const failure = (path: string) =>
			client.request('GET', path, { expect: ['run'] }).catch((err: Error) => err);

		expect(await failure('/page')).toMatchObject({
			exitCode: 1,
			message: `${url}/api/v1/page answered 200 text/html, not aco's API: check --url or ACO_URL.`
		});
		expect(await failure('/empty')).toMatchObject({
			exitCode: 1,
			message: `${url}/api/v1/empty answered 200 (no content type) with an empty body, not aco's API: check --url or ACO_URL.`
		});
		expect(await failure('/other')).toMatchObject({
			exitCode: 1,
			message: `${url}/api/v1/other answered 200 application/json without "run", not aco's API: check --url or ACO_URL.`
		});
	});

	it("takes a refusal's message from its body only when it is a string", async () => {
		const url = await serve((_req, res) => {
			res.statusCode = 400;
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify({ error: { code: 'invalid', message: { text: 'nested' } } }));
		});
		const err = await new AcoHttp({ url, token: undefined })
			.request('POST', '/workflows/a/runs')
			.catch((e) => e);
		expect(err).toMatchObject({
			status: 400,
			code: 'invalid',
			message: 'POST /workflows/a/runs answered 400 Bad Request'
		});
	});

	it("says an error answer without aco's error body is not aco's API, but for one that may pass", async () => {
		const answers: Record<string, [number, string, string]> = {
			// a wrong base path on a SvelteKit or other web server
			'/api/v1/tasks/task_x': [404, 'text/html', '<!doctype html><p>Not Found'],
			// python's http.server has no POST
			'/api/v1/tasks': [501, 'text/html;charset=utf-8', '<p>Unsupported method'],
			// JSON, but not aco's: an error code that is no string
			'/api/v1/other': [400, 'application/json', '{"error":{"code":7}}'],
			// a proxy while the server restarts: asked again
			'/api/v1/proxy': [502, 'text/html', '<p>Bad Gateway']
		};
		const url = await serve((req, res) => {
			const [status, type, body] = answers[req.url!];
			res.statusCode = status;
			res.setHeader('content-type', type);
			res.end(body);
		});
		const client = new AcoHttp({ url, token: undefined });
		const failure = (method: string, path: string) =>
			client.request(method, path, { body: method === 'POST' ? {} : undefined }).then(
				() => new Error('no failure'),
				(e: Error) => e
			);
		const notAco = (path: string, status: number, type: string) => ({
			name: 'NotAcoError',
			exitCode: 1,
			message: `${url}/api/v1${path} answered ${status} ${type}, not aco's API: check --url or ACO_URL.`
		});

		expect(await failure('GET', '/tasks/task_x')).toMatchObject(notAco('/tasks/task_x', 404, 'text/html'));
		expect(await failure('POST', '/tasks')).toMatchObject(notAco('/tasks', 501, 'text/html'));
		expect(await failure('GET', '/other')).toMatchObject(notAco('/other', 400, 'application/json'));
		const proxy = await failure('GET', '/proxy');
		expect(proxy).toBeInstanceOf(UnreachableError);
		expect(proxy.message).toBe(`the aco server at ${url} answered: GET /proxy answered 502 Bad Gateway`);
	});

	it("says a download answered with an error page is not aco's API", async () => {
		const url = await serve((_req, res) => {
			res.statusCode = 404;
			res.setHeader('content-type', 'text/html');
			res.end('<p>Not Found');
		});
		const err = await new AcoHttp({ url, token: undefined })
			.download('/executions/x/log', async () => {})
			.catch((e) => e);
		expect(err).toMatchObject({
			name: 'NotAcoError',
			message: `${url}/api/v1/executions/x/log answered 404 text/html, not aco's API: check --url or ACO_URL.`
		});
	});
});

describe('AcoHttp.request refused the token (401)', () => {
	it('says where the token came from', async () => {
		const url = await serve((_req, res) => {
			res.statusCode = 401;
			res.setHeader('content-type', 'application/json');
			res.end(
				JSON.stringify({
					error: { code: 'unauthorized', message: 'The bearer token is not one this server accepts' }
				})
			);
		});
		const err = await new AcoHttp({ url, token: 'stale', tokenSource: '--token' })
			.request('GET', '/tasks')
			.catch((e) => e);
		expect(err).toMatchObject({
			status: 401,
			message: 'The bearer token is not one this server accepts. The token sent came from --token.'
		});
	});
});

describe('AcoHttp.request with a header node will not send', () => {
	it('is a usage error that says so, never "cannot reach", and sends nothing', async () => {
		let requests = 0;
		const url = await serve((_req, res) => {
			requests++;
			res.end('{}');
		});
		// connectionOf refuses such a token; this is the request layer's own guard
		const err = await new AcoHttp({ url, token: 'some\rtoken' })
			.request<never>('GET', '/session')
			.catch((e: Error) => e);
		expect(err).not.toBeInstanceOf(UnreachableError);
		expect(err).toMatchObject({ exitCode: 2 });
		expect(err.message).toMatch(
			new RegExp(
				`^could not send a request to ${url}: Invalid character in header content \\["authorization"\\]`
			)
		);
		expect(requests).toBe(0);
	});
});

describe('AcoHttp.download', () => {
	it('hands a reader slower than the timeout the whole body', async () => {
		const chunk = Buffer.alloc(64 * 1024, 'x');
		const chunks = 32;
		const url = await serve((_req, res) => {
			res.setHeader('content-type', 'text/plain');
			// writes as fast as the reader takes it: the pause below holds the server back too
			let sent = 0;
			const more = () => {
				while (sent < chunks) {
					sent++;
					if (!res.write(chunk)) return void res.once('drain', more);
				}
				res.end();
			};
			more();
		});
		const timeoutMs = 1_000;
		let received = 0;
		let paused = false;
		const bytes = await new AcoHttp({ url, token: undefined }).download(
			'/executions/x/log',
			async (part) => {
				received += part.byteLength;
				if (paused) return;
				paused = true;
				// the scenario, not a wait for something: `| less` left alone for longer than the timeout
				await new Promise((resolve) => setTimeout(resolve, timeoutMs * 2));
			},
			{ timeoutMs }
		);
		expect(bytes).toBe(chunk.length * chunks);
		expect(received).toBe(chunk.length * chunks);
	});

	it('ends with what arrived and why when the server sends nothing for longer than the timeout', async () => {
		const url = await serve((_req, res) => {
			res.setHeader('content-type', 'text/plain');
			// headers and a first part, then nothing (the test's cleanup ends the connection)
			res.write('y'.repeat(1_000));
		});
		let received = 0;
		const err = await new AcoHttp({ url, token: undefined })
			.download('/executions/x/log', async (part) => void (received += part.byteLength), { timeoutMs: 500 })
			.catch((e) => e);
		expect(err).toMatchObject({
			exitCode: 1,
			message: `the download from ${url}/api/v1/executions/x/log was cut off after 1000 bytes (no data from the server for 0.5 s).`
		});
		expect(received).toBe(1_000);
	});

	it('still gives up on a server that never sends the headers', async () => {
		const url = await serve(() => {
			// accepts the request and never answers
		});
		const err = await new AcoHttp({ url, token: undefined })
			.download('/executions/x/log', async () => {}, { timeoutMs: 300 })
			.catch((e) => e);
		expect(err).toBeInstanceOf(UnreachableError);
		expect(err.message).toBe(
			`cannot reach the aco server at ${url} (no answer in time); start it with "aco server" or point --url / ACO_URL at it.`
		);
	});
});
