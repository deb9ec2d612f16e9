/**
 * The ingest API on the real server, with tokens configured: stand-alone tasks created and
 * reported on over REST and as a WebSocket producer, seen live by a subscriber, stored once.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
	AnyEventEnvelope,
	ControlMessage,
	IngestEventsResponse,
	IngestTaskResponse,
	LogLine,
	TaskResponse,
	TasksResponse
} from '../../src/lib/protocol';
import { isToolLines, liveLines } from '../helpers/live-lines';
import { startAco, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const TOKEN = 'ingest-test-token';
const VIEWER = 'ingest-test-viewer-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function post<T>(
	aco: AcoProcess,
	path: string,
	body: unknown,
	headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }
): Promise<{ status: number; body: T }> {
	const res = await fetch(`${aco.url}/api/v1${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: typeof body === 'string' ? body : JSON.stringify(body)
	});
	return { status: res.status, body: (await res.json()) as T };
}

async function logOf(aco: AcoProcess, executionId: string): Promise<LogLine[]> {
	const url = `${aco.url}/api/v1/executions/${executionId}/log?format=ndjson`;
	const text = await (await fetch(url, { headers: AUTH })).text();
	return text
		.split('\n')
		.filter(Boolean)
		.map((l) => JSON.parse(l) as LogLine);
}

async function tasksNamed(aco: AcoProcess, name: string): Promise<string[]> {
	const { tasks } = (await (
		await fetch(`${aco.url}/api/v1/tasks?limit=500`, { headers: AUTH })
	).json()) as TasksResponse;
	return tasks.filter((t) => t.name === name).map((t) => t.id);
}

async function subscriber(aco: AcoProcess): Promise<TestClient> {
	const client = await connect(aco.wsUrl, { headers: { authorization: `Bearer ${VIEWER}` } });
	await client.nextOfType('welcome');
	await client.request({ type: 'subscribe', sub: 'all', filter: {} });
	return client;
}

function eventsFor(client: TestClient, taskId: string): AnyEventEnvelope[] {
	return client.messages.filter(
		(m): m is AnyEventEnvelope =>
			'seq' in m && (m as AnyEventEnvelope).data && (m.data as { task_id?: string }).task_id === taskId
	);
}

describe('ingest API', () => {
	let aco: AcoProcess;
	let watcher: TestClient;

	beforeAll(async () => {
		aco = await startAco({ env: { ACO_TOKEN: TOKEN, ACO_TOKENS: `viewer:${VIEWER}` } });
		watcher = await subscriber(aco);
	});
	afterAll(async () => {
		await watcher?.close();
		await aco?.stop();
	});

	it('refuses ingest without the configured token, and with a wrong one, with 401', async () => {
		const none = await post<{ error: { code: string; message: string } }>(aco, '/tasks', { name: 'x' }, {});
		expect(none.status).toBe(401);
		expect(none.body.error.message).toMatch(/Authorization: Bearer/);
		const wrong = await post(aco, '/tasks', { name: 'x' }, { authorization: 'Bearer nope' });
		expect(wrong.status).toBe(401);
	});

	it('creates a task once per idempotency key', async () => {
		const headers = { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'ci-build-42' };
		const first = await post<IngestTaskResponse>(aco, '/tasks', { name: 'CI build' }, headers);
		const second = await post<IngestTaskResponse>(aco, '/tasks', { name: 'CI build' }, headers);
		expect(first.status).toBe(201);
		expect(second.status).toBe(200);
		expect(second.body.task.id).toBe(first.body.task.id);
		expect(first.body.task).toMatchObject({ run_id: null, status: 'running', name: 'CI build' });
		await watcher.sync();
		expect(eventsFor(watcher, first.body.task.id).filter((e) => e.type === 'task.created')).toHaveLength(1);
	});

	it('applies status, progress, tools and output lines, streams them, and stores repeated lines once', async () => {
		const { body: created } = await post<IngestTaskResponse>(aco, '/tasks', { name: 'deploy' });
		const id = created.task.id;
		const lines = [
			{ n: 1, stream: 'stdout', text: 'starting' },
			{ n: 2, stream: 'stderr', text: 'a warning' },
			{ n: 3, text: '::progress value=40::uploading' }
		];
		const first = await post<IngestEventsResponse>(aco, `/tasks/${id}/events`, {
			events: [
				{ type: 'tool.start', step: 0, name: 'upload', command: 'upload.sh' },
				{ type: 'output', step: 0, lines },
				{ type: 'progress', message: 'almost' }
			]
		});
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({ applied: 3, duplicates: 0, line_counts: { 0: 3 } });
		expect(first.body.task).toMatchObject({ progress: 40, message: 'almost', step_count: 1 });

		const again = await post<IngestEventsResponse>(aco, `/tasks/${id}/events`, {
			events: [{ type: 'output', step: 0, lines: [...lines, { n: 4, text: 'done' }] }]
		});
		expect(again.body).toMatchObject({ duplicates: 3, line_counts: { 0: 4 } });

		const end = await post<IngestEventsResponse>(aco, `/tasks/${id}/events`, {
			events: [
				{ type: 'tool.end', step: 0, exit_code: 1 },
				{ type: 'status', status: 'failed', error: 'upload failed' }
			]
		});
		expect(end.body.task).toMatchObject({ status: 'failed', error: 'upload failed' });

		const detail = (await (
			await fetch(`${aco.url}/api/v1/tasks/${id}`, { headers: AUTH })
		).json()) as TaskResponse;
		const execution = detail.task.executions[0];
		expect(execution).toMatchObject({ status: 'failed', exit_code: 1, line_count: 4 });
		expect((await logOf(aco, execution.id)).map((l) => [l.n, l.stream, l.text])).toEqual([
			[1, 'stdout', 'starting'],
			[2, 'stderr', 'a warning'],
			[3, 'stdout', '::progress value=40::uploading'],
			[4, 'stdout', 'done']
		]);

		await watcher.next((m) => m.type === 'task.failed' && (m.data as { task_id: string }).task_id === id);
		const seen = eventsFor(watcher, id);
		// each request's new lines go as one event; the repeated ones are not streamed again
		const output = seen.filter(isToolLines).map((e) => e.data.lines.map((l) => l.line));
		expect(output).toEqual([[1, 2, 3], [4]]);
		expect(seen.map((e) => e.type)).toEqual(
			expect.arrayContaining(['task.created', 'tool.started', 'task.progress', 'tool.failed', 'task.failed'])
		);
	});

	it('answers invalid payloads with 400 naming the field', async () => {
		const noName = await post<{ error: { message: string } }>(aco, '/tasks', { message: 'x' });
		expect(noName.status).toBe(400);
		expect(noName.body.error.message).toContain('name');

		const { body: created } = await post<IngestTaskResponse>(aco, '/tasks', { name: 'bad input' });
		const badStream = await post<{ error: { message: string } }>(aco, `/tasks/${created.task.id}/events`, {
			events: [
				{ type: 'tool.start', step: 0, name: 't' },
				{ type: 'output', step: 0, lines: [{ n: 1, stream: 'stdmiddle', text: 'x' }] }
			]
		});
		expect(badStream.status).toBe(400);
		expect(badStream.body.error.message).toContain('events.1.lines.0.stream');

		const unknownStep = await post<{ error: { message: string } }>(aco, `/tasks/${created.task.id}/events`, {
			events: [{ type: 'output', step: 7, lines: [{ text: 'x' }] }]
		});
		expect(unknownStep.status).toBe(400);
		expect(unknownStep.body.error.message).toContain('events.0.step');

		const notJson = await post<{ error: { code: string } }>(aco, `/tasks/${created.task.id}/events`, '{oops');
		expect(notJson.status).toBe(400);
		expect(notJson.body.error.code).toBe('invalid_json');

		// beyond adapter-node's BODY_SIZE_LIMIT (512 KiB): the sender's mistake, said as such
		const lines = Array.from({ length: 12 }, () => ({ text: 'y'.repeat(60_000) }));
		const tooBig = await post<{ error: { code: string; message: string } }>(
			aco,
			`/tasks/${created.task.id}/events`,
			{ events: [{ type: 'output', step: 0, lines }] }
		);
		expect(tooBig.status).toBe(413);
		expect(tooBig.body.error).toMatchObject({ code: 'payload_too_large' });
		expect(tooBig.body.error.message).toMatch(/fewer lines/);
	});

	it('refuses a NUL in a task’s or an event’s text, and a line break in an output line, with 400 naming the field, and stores output lines holding a NUL', async () => {
		type Refusal = { error: { code: string; message: string } };
		const nulName = await post<Refusal>(aco, '/tasks', { name: 'a\u0000b' });
		expect(nulName.status).toBe(400);
		expect(nulName.body.error).toMatchObject({
			code: 'invalid_request',
			message: expect.stringContaining('name: contains a NUL character')
		});
		for (const [body, field] of [
			[{ name: 'n', message: 'm\u0000' }, 'message'],
			[{ name: 'n', idempotency_key: 'k\u0000' }, 'idempotency_key']
		] as const) {
			const refused = await post<Refusal>(aco, '/tasks', body);
			expect(refused.status).toBe(400);
			expect(refused.body.error.message).toContain(`${field}: contains a NUL character`);
		}

		const { body: created } = await post<IngestTaskResponse>(aco, '/tasks', { name: 'nul input' });
		const events = (list: object[]) =>
			post<Refusal>(aco, `/tasks/${created.task.id}/events`, { events: list });
		for (const [event, field] of [
			[{ type: 'tool.start', step: 0, name: 's\u0000' }, 'events.0.name'],
			[{ type: 'progress', message: 'p\u0000' }, 'events.0.message'],
			[{ type: 'status', status: 'failed', error: 'e\u0000' }, 'events.0.error']
		] as const) {
			const refused = await events([event]);
			expect(refused.status).toBe(400);
			expect(refused.body.error.message).toContain(`${field}: contains a NUL character`);
		}

		// a line break would make two lines of one, the second read as text (an ::add-mask:: in it too)
		const broken = await events([
			{ type: 'tool.start', step: 0, name: 'tool' },
			{ type: 'output', step: 0, lines: [{ n: 1, text: 'ok\n::add-mask::s3cr3t-value' }] }
		]);
		expect(broken.status).toBe(400);
		expect(broken.body.error.message).toContain('events.1.lines.0.text: contains a line break');

		const texts = ['before', '::error::bad\u0000x', 'after'];
		const stored = await post<IngestEventsResponse>(aco, `/tasks/${created.task.id}/events`, {
			events: [
				{ type: 'tool.start', step: 0, name: 'tool' },
				{ type: 'output', step: 0, lines: texts.map((text, i) => ({ n: i + 1, text })) }
			]
		});
		expect(stored).toMatchObject({ status: 200, body: { line_counts: { 0: 3 } } });
		expect(stored.body.task).toMatchObject({ status: 'running', message: null, error: null });
	});

	it('answers a body sent as anything but JSON with 415, saying which content type to send', async () => {
		const body = JSON.stringify({ name: 'typed wrong' });
		// curl -d sends the first; a browser's fetch with a string body the second
		for (const type of [
			'application/x-www-form-urlencoded',
			'text/plain;charset=UTF-8',
			'multipart/form-data; boundary=x'
		]) {
			const res = await fetch(`${aco.url}/api/v1/tasks`, {
				method: 'POST',
				headers: { ...AUTH, 'content-type': type },
				body
			});
			expect(res.status, type).toBe(415);
			expect(((await res.json()) as { error: unknown }).error, type).toEqual({
				code: 'unsupported_media_type',
				message: expect.stringContaining('send Content-Type: application/json') as string
			});
		}
		// no content type at all: the body is not taken for empty
		const untyped = await fetch(`${aco.url}/api/v1/tasks`, {
			method: 'POST',
			headers: AUTH,
			body: new TextEncoder().encode(body)
		});
		expect(untyped.status).toBe(415);
		const { body: created } = await post<IngestTaskResponse>(aco, '/tasks', { name: 'typed right' });
		const events = await fetch(`${aco.url}/api/v1/tasks/${created.task.id}/events`, {
			method: 'POST',
			headers: { ...AUTH, 'content-type': 'text/plain' },
			body: JSON.stringify({ events: [{ type: 'progress', progress: 50 }] })
		});
		expect(events.status).toBe(415);
		const typed = await fetch(`${aco.url}/api/v1/tasks`, {
			method: 'POST',
			headers: { ...AUTH, 'content-type': 'application/json; charset=utf-8' },
			body: JSON.stringify({ name: 'typed right' })
		});
		expect(typed.status).toBe(201);
		expect(await tasksNamed(aco, 'typed wrong')).toEqual([]);
		const task = (await (
			await fetch(`${aco.url}/api/v1/tasks/${created.task.id}`, { headers: AUTH })
		).json()) as TaskResponse;
		expect(task.task.progress).toBe(0);
	});

	it('refuses a body that is not valid UTF-8 with 400 and stores none of it', async () => {
		// one byte 0xff, which UTF-8 never has
		const bytes = (json: string) => Uint8Array.from(json, (c) => c.charCodeAt(0));
		const send = (path: string, body: Uint8Array<ArrayBuffer>) =>
			fetch(`${aco.url}/api/v1${path}`, {
				method: 'POST',
				headers: { ...AUTH, 'content-type': 'application/json' },
				body
			});
		const task = await send('/tasks', bytes('{"name":"bad \xff name"}'));
		expect(task.status).toBe(400);
		expect(await task.json()).toEqual({
			error: { code: 'invalid_utf8', message: 'The request body is not valid UTF-8.' }
		});
		expect(await tasksNamed(aco, 'bad \ufffd name')).toEqual([]);

		const { body: created } = await post<IngestTaskResponse>(aco, '/tasks', { name: 'utf-8 output' });
		await post(aco, `/tasks/${created.task.id}/events`, {
			events: [{ type: 'tool.start', step: 0, name: 't' }]
		});
		const output = await send(
			`/tasks/${created.task.id}/events`,
			bytes('{"events":[{"type":"output","step":0,"lines":[{"n":1,"text":"caf\xff"}]}]}')
		);
		expect(output.status).toBe(400);
		expect(((await output.json()) as { error: { code: string } }).error.code).toBe('invalid_utf8');
		const detail = (await (
			await fetch(`${aco.url}/api/v1/tasks/${created.task.id}`, { headers: AUTH })
		).json()) as TaskResponse;
		expect(await logOf(aco, detail.task.executions[0].id)).toEqual([]);
	});

	it('holds the Idempotency-Key header to the 200 characters of the body field, with a 400 naming the header', async () => {
		const withKey = (key: string, name: string) =>
			post<IngestTaskResponse & { error?: { code: string; message: string } }>(
				aco,
				'/tasks',
				{ name },
				{ ...AUTH, 'idempotency-key': key }
			);
		for (const length of [201, 5_000]) {
			const long = await withKey('k'.repeat(length), 'long key');
			expect(long.status, String(length)).toBe(400);
			expect(long.body.error?.code).toBe('invalid_request');
			expect(long.body.error?.message).toMatch(/Idempotency-Key header.*200/);
		}
		expect(await tasksNamed(aco, 'long key')).toEqual([]);
		const longest = await withKey('k'.repeat(200), 'longest key');
		expect(longest.status).toBe(201);
		expect((await withKey('k'.repeat(200), 'longest key')).body.task.id).toBe(longest.body.task.id);
	});

	it('takes a client that hangs up mid-upload for gone: a line at info, no error with a stack', async () => {
		const socket = net.connect(aco.port, '127.0.0.1');
		await once(socket, 'connect');
		const answered = new Promise<string>((resolve) =>
			socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1')))
		);
		socket.write(
			`POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1:${aco.port}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
				'Content-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n'
		);
		// the server has the request and waits for its body
		expect(await answered).toMatch(/^HTTP\/1.1 100/);
		socket.write('{"name":');
		socket.destroy();
		await expect
			.poll(() => aco.output(), { timeout: 15_000 })
			.toMatch(
				/"level":30,[^\n]*"msg":"POST \/tasks: the client went away before sending the whole request body"/
			);
		expect(aco.output()).not.toMatch(/"level":50,[^\n]*"message":"aborted"/);
		expect(aco.output()).not.toMatch(/"msg":"POST \/tasks failed"/);
	});

	it('closes a producer whose hello carries a wrong token', async () => {
		const producer = await connect(aco.wsUrl, { headers: { authorization: `Bearer ${VIEWER}` } });
		await producer.nextOfType('welcome');
		const wrong = await producer.request<ControlMessage<'error'>>({ type: 'producer.hello', token: 'nope' });
		expect(wrong.data.code).toBe('unauthorized');
		expect(await producer.waitForClose()).toMatchObject({ code: 4500 });
	});

	it('accepts a producer on the WebSocket once it presented an operator token', async () => {
		const producer = await connect(aco.wsUrl, { headers: { authorization: `Bearer ${VIEWER}` } });
		await producer.nextOfType('welcome');
		const refused = await producer.request<ControlMessage<'error'>>({
			type: 'ingest.create_task',
			task: { name: 'ws task' }
		});
		expect(refused).toMatchObject({ type: 'error', data: { code: 'unauthorized' } });

		const hello = await producer.request({ type: 'producer.hello', token: TOKEN });
		expect(hello).toMatchObject({ type: 'ingest.ack', data: { authenticated: true } });

		const created = await producer.request<ControlMessage<'ingest.ack'>>({
			type: 'ingest.create_task',
			task: { name: 'ws task', idempotency_key: 'ws-1' }
		});
		const taskId = (created.data as IngestTaskResponse).task.id;
		const events = {
			type: 'ingest.events',
			task_id: taskId,
			events: [
				{ type: 'tool.start', step: 0, name: 'work' },
				{ type: 'output', step: 0, lines: [{ n: 1, text: 'over the socket' }] }
			]
		};
		const applied = await producer.request<ControlMessage<'ingest.ack'>>(events);
		expect(applied.data).toMatchObject({ kind: 'ingest.events', duplicates: 0, line_counts: { 0: 1 } });
		const repeated = await producer.request<ControlMessage<'ingest.ack'>>(events);
		expect(repeated.data).toMatchObject({ duplicates: 1, ignored: 2 });

		const invalid = await producer.request<ControlMessage<'error'>>({
			...events,
			events: [{ type: 'warp' }]
		});
		expect(invalid.data).toMatchObject({ code: 'invalid_message' });
		expect(invalid.data.message).toContain('events.0.type');

		await watcher.next((m) => isToolLines(m) && m.data.task_id === taskId);
		await watcher.sync();
		expect(liveLines(eventsFor(watcher, taskId)).map((l) => l.output)).toEqual(['over the socket']);
		await producer.close();
	});
});
