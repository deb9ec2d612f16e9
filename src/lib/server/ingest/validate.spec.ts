import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { handleIngest } from './http';
import { readIdempotencyKey, readJson } from './validate';

const URL_ = 'http://127.0.0.1:3000/api/v1/tasks';

const post = (
	body: BodyInit | null,
	headers: Record<string, string> = { 'content-type': 'application/json' }
) => new Request(URL_, { method: 'POST', headers, body });

/** what readJson throws, as fields */
async function refusal(request: Request) {
	try {
		await readJson(request);
	} catch (err) {
		const { status, code, message } = err as { status: number; code: string; message: string };
		return { status, code, message };
	}
	throw new Error('readJson accepted the body');
}

/** A body whose sender hangs up after `sent`, as adapter-node reports it: node's "aborted". */
function cutOff(sent: string): ReadableStream<Uint8Array> {
	return new ReadableStream({
		start(controller) {
			controller.enqueue(new TextEncoder().encode(sent));
			controller.error(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
		}
	});
}

describe('readJson', () => {
	it('reads JSON sent as application/json, with parameters or as a +json type', async () => {
		for (const type of [
			'application/json',
			'Application/JSON; charset=utf-8',
			'application/merge-patch+json'
		]) {
			expect(await readJson(post('{"name":"x"}', { 'content-type': type })), type).toEqual({ name: 'x' });
		}
	});

	it('refuses a body sent as another type, or as none, with 415 saying what to send', async () => {
		for (const type of [
			'application/x-www-form-urlencoded',
			'text/plain;charset=UTF-8',
			'multipart/form-data; boundary=x',
			'application/jsonp'
		]) {
			expect(await refusal(post('{"name":"x"}', { 'content-type': type })), type).toEqual({
				status: 415,
				code: 'unsupported_media_type',
				message: 'The request body must be JSON: send Content-Type: application/json.'
			});
		}
		expect((await refusal(post(new Uint8Array([123, 125]), {}))).status).toBe(415);
	});

	it('refuses bytes that are not UTF-8 with 400 rather than replacing them', async () => {
		const bytes = new Uint8Array([
			...new TextEncoder().encode('{"name":"'),
			0xff,
			0xfe,
			...new TextEncoder().encode('"}')
		]);
		expect(await refusal(post(bytes))).toEqual({
			status: 400,
			code: 'invalid_utf8',
			message: 'The request body is not valid UTF-8.'
		});
		// an overlong encoding and a lone surrogate are not UTF-8 either
		expect((await refusal(post(new Uint8Array([0x22, 0xc0, 0xaf, 0x22])))).code).toBe('invalid_utf8');
		expect((await refusal(post(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])))).code).toBe('invalid_utf8');
		expect(await readJson(post(new TextEncoder().encode('{"name":"café ✓ 🚀"}')))).toEqual({
			name: 'café ✓ 🚀'
		});
	});

	it('answers a body whose sender hung up part way with 400, not as a server failure', async () => {
		const request = new Request(URL_, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: cutOff('{"name":'),
			duplex: 'half'
		} as RequestInit);
		expect(await refusal(request)).toMatchObject({ status: 400, code: 'incomplete_body' });

		const lines: string[] = [];
		const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
		const again = new Request(URL_, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: cutOff('{"name":'),
			duplex: 'half'
		} as RequestInit);
		const response = await handleIngest(
			async () => Response.json(await readJson(again)),
			logger,
			'POST /tasks'
		);
		expect(response.status).toBe(400);
		expect(lines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown })).toEqual([
			expect.objectContaining({
				level: 30,
				msg: 'POST /tasks: the client went away before sending the whole request body'
			})
		]);
		expect(lines[0]).not.toContain('stack');
	});

	it('still answers an empty body and text that is not JSON with 400', async () => {
		expect((await refusal(post(' '))).code).toBe('invalid_request');
		expect((await refusal(post('{oops'))).code).toBe('invalid_json');
	});
});

describe('readIdempotencyKey', () => {
	const withKey = (key?: string) => post('{}', key === undefined ? {} : { 'idempotency-key': key });

	it('takes a key of up to 200 characters, the cap of the body field idempotency_key', () => {
		expect(readIdempotencyKey(withKey())).toBeNull();
		expect(readIdempotencyKey(withKey(''))).toBeNull();
		expect(readIdempotencyKey(withKey('ci-1234'))).toBe('ci-1234');
		expect(readIdempotencyKey(withKey('k'.repeat(200)))).toBe('k'.repeat(200));
	});

	it('refuses a longer one with 400 naming the header', () => {
		for (const length of [201, 5_000]) {
			expect(() => readIdempotencyKey(withKey('k'.repeat(length)))).toThrow(
				expect.objectContaining({
					status: 400,
					code: 'invalid_request',
					message: expect.stringMatching(/^Invalid Idempotency-Key header: .*200/) as string
				})
			);
		}
	});
});
