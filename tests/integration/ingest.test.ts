/**
 * The ingest API on the real server, with tokens configured: stand-alone tasks created and
 * reported on over REST and as a WebSocket producer, seen live by a subscriber, stored once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
	AnyEventEnvelope,
	ControlMessage,
	IngestEventsResponse,
	IngestTaskResponse,
	LogLine,
	TaskResponse
} from '../../src/lib/protocol';
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
		const output = seen.filter((e) => e.type === 'tool.output').map((e) => e.data.line);
		expect(output).toEqual([1, 2, 3, 4]);
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

	it('refuses a NUL in a task’s or an event’s text with 400 naming the field, and stores output lines holding one', async () => {
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

		await watcher.next((m) => m.type === 'tool.output' && (m.data as { task_id: string }).task_id === taskId);
		await watcher.sync();
		expect(eventsFor(watcher, taskId).filter((e) => e.type === 'tool.output')).toHaveLength(1);
		await producer.close();
	});
});
