import { describe, expect, it } from 'vitest';
import { RestClient, RestError } from './rest';

const BASE = 'http://aco.test';

/** a client whose every request gets a fresh copy of `answer` */
function clientAnswering(status: number, contentType: string, body: string): RestClient {
	return new RestClient({
		url: BASE,
		token: 't',
		fetch: async () => new Response(body, { status, headers: { 'content-type': contentType } })
	});
}

describe('RestClient against a server that is not aco', () => {
	it('names the URL, the status and the content type, and does not ask again', async () => {
		const client = clientAnswering(200, 'text/html', '<!doctype html><p>welcome');
		const expected = (path: string) => ({
			status: 200,
			code: 'not_aco',
			retryable: false,
			message: `${BASE}/api/v1${path} answered 200 text/html, not aco's API: check --url or ACO_URL.`
		});
		const run = await client.getRun('run_1').catch((e: unknown) => e);
		expect(run).toBeInstanceOf(RestError);
		expect(run).toMatchObject(expected('/runs/run_1'));
		expect(await client.getLogLines('x1').catch((e: unknown) => e)).toMatchObject(
			expected('/executions/x1/log?format=ndjson')
		);
	});

	it('says which field is missing from JSON that is not an answer of aco', async () => {
		const client = clientAnswering(200, 'application/json', '{"ok":true}');
		expect(await client.getTask('task_1').catch((e: unknown) => e)).toMatchObject({
			code: 'not_aco',
			message: `${BASE}/api/v1/tasks/task_1 answered 200 application/json without "task", not aco's API: check --url or ACO_URL.`
		});
	});

	it("takes a refusal's message from its body only when it is a string", async () => {
		const client = clientAnswering(400, 'application/json', '{"error":{"code":"bad","message":{"a":1}}}');
		expect(await client.getTask('task_1').catch((e: unknown) => e)).toMatchObject({
			status: 400,
			code: 'bad',
			message: `GET ${BASE}/api/v1/tasks/task_1 failed with HTTP 400.`
		});
	});

	it("says an error page (a wrong --url's 404, another server's 501) is not aco's API, and does not ask again", async () => {
		for (const status of [404, 501]) {
			const client = clientAnswering(status, 'text/html', '<p>no such page');
			expect(await client.getTask('task_1').catch((e: unknown) => e)).toMatchObject({
				status,
				code: 'not_aco',
				retryable: false,
				message: `${BASE}/api/v1/tasks/task_1 answered ${status} text/html, not aco's API: check --url or ACO_URL.`
			});
		}
		// a proxy's page while the server restarts may pass
		const proxy = clientAnswering(502, 'text/html', '<p>Bad Gateway');
		expect(await proxy.getTask('task_1').catch((e: unknown) => e)).toMatchObject({
			status: 502,
			code: 'http_502',
			retryable: true
		});
	});
});

describe('RestClient refused the token (401)', () => {
	it('says where the token came from', async () => {
		const body = JSON.stringify({
			error: {
				code: 'unauthorized',
				message:
					"The bearer token is not one this server accepts; check it against the server's ACO_TOKEN, ACO_TOKENS or ACO_TOKENS_FILE."
			}
		});
		const client = new RestClient({
			url: BASE,
			token: 't',
			tokenSource: 'ACO_TOKEN',
			fetch: async () => new Response(body, { status: 401, headers: { 'content-type': 'application/json' } })
		});
		expect(await client.getTask('task_1').catch((e: unknown) => e)).toMatchObject({
			status: 401,
			code: 'unauthorized',
			message:
				"The bearer token is not one this server accepts; check it against the server's ACO_TOKEN, ACO_TOKENS or ACO_TOKENS_FILE. The token sent came from ACO_TOKEN."
		});
	});
});

describe('RestClient.getLogLines', () => {
	it('asks for the lines after a line, at most as many as given, and reads them', async () => {
		const urls: string[] = [];
		const client = new RestClient({
			url: BASE,
			token: 't',
			fetch: async (input) => {
				urls.push(String(input));
				const line = { n: 4, stream: 'stdout', ts: '2026-01-01T00:00:00.000Z', text: 'four' };
				return new Response(`${JSON.stringify(line)}\n`, {
					headers: { 'content-type': 'application/x-ndjson' }
				});
			}
		});
		expect((await client.getLogLines('x1', { after: 3, limit: 2 })).map((l) => l.n)).toEqual([4]);
		await client.getLogLines('x1');
		expect(urls).toEqual([
			`${BASE}/api/v1/executions/x1/log?format=ndjson&after=3&limit=2`,
			`${BASE}/api/v1/executions/x1/log?format=ndjson`
		]);
	});
});

describe('RestClient against a server that takes the request and never answers', () => {
	it('gives up waiting for the answer to begin and says so, retryable like a server out of reach', async () => {
		let aborted = false;
		const client = new RestClient({
			url: BASE,
			answerTimeoutMs: 20,
			fetch: (_input, init) =>
				new Promise<Response>((_resolve, reject) => {
					init?.signal?.addEventListener('abort', () => {
						aborted = true;
						reject(new DOMException('aborted', 'AbortError'));
					});
				})
		});
		expect(await client.getTask('task_1').catch((e: unknown) => e)).toMatchObject({
			status: 0,
			code: 'timeout',
			retryable: true,
			message: `The aco server at ${BASE} did not answer within 0.02 s.`
		});
		expect(aborted).toBe(true);
	});

	it("still stops at once when its caller's signal aborts", async () => {
		const caller = new AbortController();
		const client = new RestClient({
			url: BASE,
			fetch: (_input, init) =>
				new Promise<Response>((_resolve, reject) => {
					init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
				})
		});
		const asked = client.getTask('task_1', caller.signal).catch((e: unknown) => e);
		caller.abort();
		expect(await asked).toMatchObject({ name: 'AbortError' });
	});
});
