/**
 * Secrets in logs, tried as a leaky tool would leak them: a workflow step, `aco exec` and the
 * ingest API (REST and WebSocket producers) print a secret raw, in base64 at each byte
 * alignment, JSON-escaped, URL-encoded, split across two writes, across the 16 KiB split of a
 * long line and across a `\r` progress snapshot, and announce one with `::add-mask::`. None of
 * it may reach the live stream, a download (text or NDJSON) or any byte of the data folder,
 * and the server's own token never reaches a tool. Healthy subscribers keep receiving meanwhile.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlMessage } from '../../src/lib/protocol/messages';
import type { Execution, IngestTaskResponse, LogLine, TaskResponse } from '../../src/lib/protocol';
import {
	acoApi,
	dataFolderFiles,
	runWorkflow,
	waitFor,
	writeWorkflow,
	type AcoApi
} from '../helpers/aco-api';
import { runCli } from '../helpers/cli';
import { HealthyClients } from '../helpers/healthy-clients';
import { liveLines } from '../helpers/live-lines';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const SERVER_TOKEN = `srv-${Math.random().toString(36).slice(2)}-token`;
/** a step's secret variable, with characters that JSON and URLs escape */
const STEP_SECRET = 'St3p"Secret/With+Slash=&Q';
const EXEC_SECRET = 'ex3c-Secret"value/9+plus';
const INGEST_SECRET = 'ingest-Secret/v@lue+77';
/** announced with ::add-mask::; the tools build them from reversed text so no command line holds them */
const ADDED_STEP = 'added-mask-value-99';
const ADDED_EXEC = 'exec-added-mask-42';
const LINE_SPLIT = 16 * 1024;

/** what a tool prints: every spelling of `name` (an env variable) and of an announced value */
const LEAKY_TOOL = String.raw`
const s = process.env[process.argv[1]];
const added = process.argv[2].split('').reverse().join('');
const out = (t) => process.stdout.write(t);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  out('raw ' + s + '\n');
  for (const p of ['', 'a', 'ab']) out('b64 ' + Buffer.from(p + s + 'tail').toString('base64') + '\n');
  out('json ' + JSON.stringify({ token: s }) + '\n');
  out('url https://example.test/?t=' + encodeURIComponent(s) + '\n');
  out('split ' + s.slice(0, 7)); await wait(300); out(s.slice(7) + ' end\n');
  out('x'.repeat(${LINE_SPLIT} - 5) + s + ' long\n');
  out('\rprogress ' + s.slice(0, 9)); await wait(1400); out(s.slice(9) + ' 100%\n');
  out('::add-mask::' + added + '\n');
  out('after ' + added + ' ' + Buffer.from(added).toString('base64') + ' ' + JSON.stringify(added) + '\n');
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('ACO') || k.endsWith('TOKEN')) out('env ' + k + '=' + v + '\n');
})();
`;

const rev = (text: string) => text.split('').reverse().join('');

/** the spellings of a value that must never show: raw, JSON-escaped, URL-encoded, and the
 * base64 characters that come from the value alone at each of the three alignments */
function spellings(value: string): string[] {
	const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
	for (const prefix of ['', 'a', 'ab'])
		forms.push(
			Buffer.from(prefix + value)
				.toString('base64')
				.slice(4, -4)
		);
	return forms;
}

const SECRETS = [STEP_SECRET, EXEC_SECRET, INGEST_SECRET, ADDED_STEP, ADDED_EXEC, SERVER_TOKEN];

function leaks(text: string): string[] {
	return SECRETS.flatMap((secret) => spellings(secret).filter((form) => text.includes(form)));
}

describe('secrets in logs', () => {
	let aco: AcoProcess;
	let api: AcoApi;
	let watcher: TestClient;
	let healthy: HealthyClients;
	let workflows: string;

	beforeAll(async () => {
		workflows = tempDir('aco-secrets-wf-');
		writeWorkflow(workflows, 'leaky', {
			run: 'node',
			args: ['-e', LEAKY_TOOL, 'DEPLOY_TOKEN', rev(ADDED_STEP)],
			env: { DEPLOY_TOKEN: STEP_SECRET }
		});
		aco = await startAco({
			workflowsDir: workflows,
			env: { ACO_TOKEN: SERVER_TOKEN, ACO_MAX_LINE_LENGTH: String(LINE_SPLIT) }
		});
		api = acoApi(aco, SERVER_TOKEN);
		const auth = { headers: { authorization: `Bearer ${SERVER_TOKEN}` } };
		watcher = await connect(aco.wsUrl, auth, 10_000);
		await watcher.nextOfType('welcome', 10_000);
		await watcher.request({ type: 'subscribe', sub: 'all', filter: {} }, 10_000);
		healthy = await HealthyClients.start(aco, { token: SERVER_TOKEN, operatorToken: SERVER_TOKEN });
	});

	afterAll(async () => {
		await healthy?.stop();
		await watcher?.close().catch(() => {});
		await aco?.stop();
		fs.rmSync(workflows, { recursive: true, force: true });
		if (aco) fs.rmSync(aco.dataDir, { recursive: true, force: true });
	});

	const download = (execution: Execution) => api.text(`/api/v1/executions/${execution.id}/log`);
	const ndjson = async (execution: Execution) =>
		(await api.text(`/api/v1/executions/${execution.id}/log?format=ndjson`))
			.split('\n')
			.filter(Boolean)
			.map((row) => JSON.parse(row) as LogLine);

	it('masks every spelling of a step secret and an ::add-mask:: value, and keeps ACO_TOKEN from the tool', async () => {
		const { tasks } = await runWorkflow(api, 'leaky');
		const [execution] = tasks[0].executions;
		expect(execution.status).toBe('succeeded');
		const text = await download(execution);
		expect(leaks(text)).toEqual([]);
		expect(text).toContain('raw ***\n');
		expect(text).toContain('split *** end\n');
		expect(text).toContain('*** long\n');
		expect(text).toContain('\rprogress *** 100%\n');
		expect(text).toContain('::add-mask::***\n');
		expect(text).toMatch(/after \*\*\* \*\*\*\S{0,3} "\*\*\*"/);
		expect(text).toMatch(/json \{"token":"\*\*\*"\}/);
		expect(text).not.toContain('ACO_TOKEN');
		// the 16 KiB split and the snapshot really happened: the line came in pieces
		const lines = await ndjson(execution);
		expect(lines.filter((line) => line.partial).length).toBeGreaterThanOrEqual(2);
		expect(leaks(JSON.stringify(lines))).toEqual([]);
		await healthy.expectHealthy();
	});

	it('masks what aco exec sends, its own token included, before it leaves the machine', async () => {
		const spool = tempDir('aco-secrets-spool-');
		try {
			const result = await runCli(
				['exec', '--name', 'leaky exec', '--', 'node', '-e', LEAKY_TOOL, 'MY_API_TOKEN', rev(ADDED_EXEC)],
				{ ACO_URL: aco.url, ACO_TOKEN: SERVER_TOKEN, MY_API_TOKEN: EXEC_SECRET, ACO_SPOOL_DIR: spool },
				60_000
			);
			expect(result.code).toBe(0);
			// the spool on disk held only masked text too (it is removed once delivered)
			expect(fs.readdirSync(spool).filter((f) => f.endsWith('.ndjson'))).toEqual([]);
		} finally {
			fs.rmSync(spool, { recursive: true, force: true });
		}
		const { tasks } = await api.get<{ tasks: { id: string; name: string }[] }>('/api/v1/tasks');
		const task = tasks.find((t) => t.name === 'leaky exec')!;
		const detail = await api.get<TaskResponse>(`/api/v1/tasks/${task.id}`);
		const text = await download(detail.task.executions[0]);
		expect(leaks(text)).toEqual([]);
		expect(text).toContain('raw ***\n');
		expect(text).toContain('split *** end\n');
		expect(text).toContain('::add-mask::***\n');
		expect(text).toContain('env ACO_TOKEN=***\n');
		expect(text).toContain('env MY_API_TOKEN=***\n');
		await healthy.expectHealthy();
	});

	it('masks ingested output from REST and WebSocket producers, split lines included', async () => {
		const lines = [
			{ text: `::add-mask::${INGEST_SECRET}` },
			{ text: `raw ${INGEST_SECRET}` },
			{ text: `b64 ${Buffer.from(`a${INGEST_SECRET}`).toString('base64')}` },
			{ text: `split ${INGEST_SECRET.slice(0, 5)}`, partial: true },
			{ text: `${INGEST_SECRET.slice(5)} end` },
			{ text: `json ${JSON.stringify({ s: INGEST_SECRET })} url ${encodeURIComponent(INGEST_SECRET)}` }
		];
		const rest = await api.post<IngestTaskResponse>('/api/v1/tasks', { name: 'rest producer' });
		await api.post(`/api/v1/tasks/${rest.task.id}/events`, {
			events: [
				{ type: 'tool.start', step: 0, name: 'p' },
				{ type: 'output', step: 0, lines },
				{ type: 'tool.end', step: 0, exit_code: 0 },
				{ type: 'status', status: 'succeeded' }
			]
		});
		const producer = await connect(
			aco.wsUrl,
			{ headers: { authorization: `Bearer ${SERVER_TOKEN}` } },
			10_000
		);
		await producer.nextOfType('welcome', 10_000);
		await producer.request({ type: 'producer.hello', token: SERVER_TOKEN }, 10_000);
		const created = await producer.request<ControlMessage<'ingest.ack'>>(
			{ type: 'ingest.create_task', task: { name: 'ws producer' } },
			10_000
		);
		const wsTask = (created.data as { task: { id: string } }).task.id;
		const ack = await producer.request(
			{
				type: 'ingest.events',
				task_id: wsTask,
				events: [
					{ type: 'tool.start', step: 0, name: 'p' },
					{ type: 'output', step: 0, lines },
					{ type: 'status', status: 'succeeded' }
				]
			},
			10_000
		);
		expect(ack.type).toBe('ingest.ack');
		await producer.close();
		for (const id of [rest.task.id, wsTask]) {
			const detail = await api.get<TaskResponse>(`/api/v1/tasks/${id}`);
			const text = await download(detail.task.executions[0]);
			expect(leaks(text)).toEqual([]);
			expect(text).toContain('raw ***\n');
			expect(text).toContain('split *** end\n');
		}
		await healthy.expectHealthy();
	});

	it('streamed nothing secret live and stored none of it anywhere in the data folder', async () => {
		// everything above has been streamed by now: a heartbeat round trip orders it
		await watcher.sync(10_000);
		expect(liveLines(watcher.messages).length).toBeGreaterThan(30);
		expect(leaks(JSON.stringify(watcher.messages))).toEqual([]);
		// the database, its WAL and shared-memory files while the server runs…
		const live = dataFolderFiles(aco.dataDir);
		expect(live.map((f) => f.file)).toContain('aco.db-wal');
		for (const { file, bytes } of live) expect(leaks(bytes.toString('latin1')), file).toEqual([]);
		// …and after a clean stop, which checkpoints the WAL into the database
		await healthy.stop();
		await aco.stop();
		await waitFor(
			() => aco.proc.exitCode !== null || aco.proc.signalCode !== null,
			20_000,
			'the server to stop'
		);
		const files = dataFolderFiles(aco.dataDir);
		expect(files.map((f) => f.file)).toContain('aco.db');
		for (const { file, bytes } of files) {
			const text = bytes.toString('latin1');
			expect(leaks(text), file).toEqual([]);
		}
	});
});

/** A server of a describe's own, with a client watching every event it streams. */
async function startWatched(
	options: Parameters<typeof startAco>[0]
): Promise<{ aco: AcoProcess; api: AcoApi; watcher: TestClient }> {
	const aco = await startAco(options);
	let watcher: TestClient | undefined;
	try {
		watcher = await connect(aco.wsUrl, { headers: { authorization: `Bearer ${SERVER_TOKEN}` } }, 10_000);
		await watcher.nextOfType('welcome', 10_000);
		await watcher.request({ type: 'subscribe', sub: 'all', filter: {} }, 10_000);
	} catch (err) {
		await stopWatched(aco, watcher);
		throw err;
	}
	return { aco, api: acoApi(aco, SERVER_TOKEN), watcher };
}

async function stopWatched(aco: AcoProcess | undefined, watcher: TestClient | undefined): Promise<void> {
	await watcher?.close().catch(() => {});
	await aco?.stop();
	if (aco) fs.rmSync(aco.dataDir, { recursive: true, force: true });
}

describe('output a producer sends after its task ended', () => {
	/** announced with ::add-mask:: while the task ran; the task's masks are gone once it ended */
	const LATE_SECRET = 'late-Secret/v@lue+88';
	let aco: AcoProcess;
	let api: AcoApi;
	let watcher: TestClient;

	beforeAll(async () => {
		({ aco, api, watcher } = await startWatched({
			env: { ACO_TOKEN: SERVER_TOKEN, ACO_INGEST_CANCEL_TIMEOUT_MS: '300' }
		}));
	});

	afterAll(() => stopWatched(aco, watcher));

	it('stores and streams none of it, after a cancel the producer missed or its own end, and answers that it was ignored', async () => {
		const post = (taskId: string, events: unknown[]) =>
			api.request('POST', `/api/v1/tasks/${taskId}/events`, { events });
		const announce = [
			{ type: 'tool.start', step: 0, name: 'p' },
			{
				type: 'output',
				step: 0,
				lines: [
					{ n: 1, text: `::add-mask::${LATE_SECRET}` },
					{ n: 2, text: `pw=${LATE_SECRET}` }
				]
			}
		];
		const late = [
			{ type: 'output', step: 0, lines: [{ n: 3, text: `late pw=${LATE_SECRET}` }] },
			{ type: 'tool.end', step: 0, exit_code: 1, error: `failed with pw=${LATE_SECRET}` }
		];

		// the producer does not confirm a cancel within ACO_INGEST_CANCEL_TIMEOUT_MS, then reports on
		const missed = await api.post<IngestTaskResponse>('/api/v1/tasks', { name: 'missed the cancel' });
		expect((await post(missed.task.id, announce)).status).toBe(200);
		await api.post(`/api/v1/tasks/${missed.task.id}/cancel`);
		await waitFor(
			async () =>
				(await api.get<TaskResponse>(`/api/v1/tasks/${missed.task.id}`)).task.status === 'cancelled',
			10_000,
			'the cancel timeout to end the task'
		);
		const afterCancel = await post(missed.task.id, late);
		expect(afterCancel).toMatchObject({
			status: 200,
			body: { applied: 0, ignored: 2, task: { status: 'cancelled' }, line_counts: { 0: 2 } }
		});

		// the producer reports its end before its last lines
		const early = await api.post<IngestTaskResponse>('/api/v1/tasks', { name: 'ended early' });
		expect((await post(early.task.id, [...announce, { type: 'status', status: 'succeeded' }])).status).toBe(
			200
		);
		const afterEnd = await post(early.task.id, late);
		expect(afterEnd).toMatchObject({
			status: 200,
			body: { applied: 0, ignored: 2, task: { status: 'succeeded' }, line_counts: { 0: 2 } }
		});

		for (const id of [missed.task.id, early.task.id]) {
			const detail = await api.get<TaskResponse>(`/api/v1/tasks/${id}`);
			const [execution] = detail.task.executions;
			expect(await api.text(`/api/v1/executions/${execution.id}/log`)).toBe('::add-mask::***\npw=***\n');
			expect(JSON.stringify(detail)).not.toContain(LATE_SECRET);
		}
		// everything above has been streamed by now: a heartbeat round trip orders it
		await watcher.sync(10_000);
		const streamed = JSON.stringify(watcher.messages);
		expect(streamed).toContain('pw=***');
		for (const form of spellings(LATE_SECRET)) expect(streamed).not.toContain(form);
		for (const { file, bytes } of dataFolderFiles(aco.dataDir)) {
			const text = bytes.toString('latin1');
			for (const form of spellings(LATE_SECRET)) expect(text.includes(form), file).toBe(false);
		}
	});
});

describe('secrets in step names and in steps before the one that holds them', () => {
	const NAME_SECRET = 'Zq81-live-deploy-key';
	const LATER_SECRET = 'Kx93-second-step-secret';
	/** the step's default name is its command line: a curl that fails, without the network */
	const PUSH_NAME = 'false -H X-Token:*** https://example.invalid';
	let aco: AcoProcess;
	let api: AcoApi;
	let watcher: TestClient;
	let workflows: string;

	beforeAll(async () => {
		workflows = tempDir('aco-secrets-names-');
		fs.writeFileSync(
			`${workflows}/push.yml`,
			[
				'name: push',
				'tasks:',
				'  push:',
				'    steps:',
				`      - run: 'false -H X-Token:${NAME_SECRET} https://example.invalid'`,
				`        env: { DEPLOY_TOKEN: ${NAME_SECRET} }`
			].join('\n') + '\n'
		);
		// the first step prints the file that holds the second step's secret
		fs.writeFileSync(
			`${workflows}/two.yml`,
			[
				'name: two',
				'tasks:',
				'  two:',
				'    steps:',
				'      - run: cat two.yml',
				"      - run: 'true'",
				`        env: { DEPLOY_TOKEN: ${LATER_SECRET} }`
			].join('\n') + '\n'
		);
		({ aco, api, watcher } = await startWatched({
			workflowsDir: workflows,
			env: { ACO_TOKEN: SERVER_TOKEN }
		}));
	});

	afterAll(async () => {
		await stopWatched(aco, watcher);
		if (workflows) fs.rmSync(workflows, { recursive: true, force: true });
	});

	it('shows a step named by its command line with the secret masked: execution, task message and error, run log, download name, live events', async () => {
		const { run, tasks } = await runWorkflow(api, 'push');
		const [task] = tasks;
		const [execution] = task.executions;
		expect(execution.name).toBe(PUSH_NAME);
		expect(task).toMatchObject({
			status: 'failed',
			message: `${PUSH_NAME} (1/1)`,
			error: `step '${PUSH_NAME}' failed: exited with code 1`
		});
		const runLog = await api.text(`/api/v1/runs/${run.id}/log`);
		expect(runLog).toContain(`=== push › Step 1/1: ${PUSH_NAME} · failed, exit code 1 ===`);
		const download = await fetch(`${aco.url}/api/v1/executions/${execution.id}/log`, {
			headers: { authorization: `Bearer ${SERVER_TOKEN}` }
		});
		await download.arrayBuffer();
		const filename = download.headers.get('content-disposition') ?? '';
		expect(filename).toContain('push-push-false-h-x-token');
		await watcher.sync(10_000);
		const started = watcher.messages.filter((m) => m.type === 'tool.started');
		expect(started.map((m) => (m.data as { execution: { name: string } }).execution.name)).toContain(
			PUSH_NAME
		);
		const seen = [
			JSON.stringify(await api.get(`/api/v1/runs/${run.id}`)),
			JSON.stringify(await api.get(`/api/v1/tasks/${task.id}`)),
			runLog,
			await api.text(`/api/v1/tasks/${task.id}/log`),
			filename.toLowerCase(),
			JSON.stringify(watcher.messages)
		];
		for (const text of seen) {
			// a name cut inside the secret would show its start
			for (const form of [...spellings(NAME_SECRET), NAME_SECRET.slice(0, 6), 'zq81-l'])
				expect(text).not.toContain(form);
		}
	});

	it("masks a later step's secret in the output of the steps before it, from the first line on", async () => {
		const { tasks } = await runWorkflow(api, 'two');
		const [first, second] = tasks[0].executions;
		expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
		const printed = await api.text(`/api/v1/executions/${first.id}/log`);
		expect(printed).toContain('        env: { DEPLOY_TOKEN: *** }\n');
		await watcher.sync(10_000);
		const streamed = JSON.stringify(watcher.messages);
		expect(streamed).toContain('DEPLOY_TOKEN: ***');
		for (const form of spellings(LATER_SECRET)) {
			expect(printed).not.toContain(form);
			expect(streamed).not.toContain(form);
		}
		for (const { file, bytes } of dataFolderFiles(aco.dataDir)) {
			const text = bytes.toString('latin1');
			for (const form of spellings(LATER_SECRET)) expect(text.includes(form), file).toBe(false);
		}
	});
});
