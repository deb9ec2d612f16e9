/**
 * The endpoints the run, workflow and task pages read: a workflow's detail with its YAML (and a
 * broken file's reason and line), runs in pages, and downloads named for what they hold,
 * including "Download all" of a task and of a run; and the sign-in page while the database
 * cannot be reached.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
	RunDetailResponse,
	RunResponse,
	RunsResponse,
	TaskResponse,
	WorkflowDetailResponse
} from '../../src/lib/protocol';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const FIXTURES = path.join(ROOT, 'tests/fixtures/workflows');

describe('page endpoints', () => {
	let aco: AcoProcess;

	async function get<T>(url: string): Promise<{ status: number; body: T; headers: Headers }> {
		const res = await fetch(aco.url + url);
		return { status: res.status, body: (await res.json()) as T, headers: res.headers };
	}

	async function runToEnd(workflow: string): Promise<RunDetailResponse> {
		const res = await fetch(`${aco.url}/api/v1/workflows/${workflow}/runs`, { method: 'POST' });
		const { run } = (await res.json()) as RunResponse;
		for (;;) {
			const detail = (await get<RunDetailResponse>(`/api/v1/runs/${run.id}`)).body;
			if (detail.run.finished_at) return detail;
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}

	beforeAll(async () => {
		aco = await startAco({ workflowsDir: FIXTURES });
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it('shows a workflow with its YAML, and a broken file with its reason and line instead of a 404', async () => {
		const quick = await get<WorkflowDetailResponse>('/api/v1/workflows/quick');
		expect(quick.status).toBe(200);
		expect(quick.body.workflow?.tasks.map((t) => [t.key, t.needs])).toEqual([
			['first', []],
			['second', ['first']]
		]);
		expect(quick.body.source).toContain('name: quick');
		expect(quick.body.error).toBeNull();
		// the values of secret variables stay in the file: never shown, whatever the reader's role
		expect(quick.body.source).toContain('API_KEY: ***, GREETING: hello');
		expect(quick.body.source).not.toContain('fixture-api-key-5678');

		const broken = await get<WorkflowDetailResponse>('/api/v1/workflows/broken');
		expect(broken.status).toBe(200);
		expect(broken.body.workflow).toBeNull();
		expect(broken.body.source).toContain('does-not-exist');
		expect(broken.body.error).toMatchObject({ line: 4 });
		expect(broken.body.error?.reason).toContain("unknown task 'does-not-exist'");
		expect(broken.body.source).toContain('DEPLOY_TOKEN: ***');
		expect(broken.body.source).not.toContain('fixture-secret-value-1234');

		const missing = await get<{ error: { code: string; message: string } }>('/api/v1/workflows/nope');
		expect(missing.status).toBe(404);
		expect(missing.body.error.code).toBe('workflow_not_found');
		expect(missing.body.error.message).toContain('quick');
	});

	it('pages through runs with offset and says whether more follow', async () => {
		for (let i = 0; i < 3; i++) await runToEnd('failing');
		const first = await get<RunsResponse>('/api/v1/runs?workflow=failing&limit=2');
		expect(first.body.runs).toHaveLength(2);
		expect(first.body.has_more).toBe(true);
		const second = await get<RunsResponse>('/api/v1/runs?workflow=failing&limit=2&offset=2');
		expect(second.body.runs.length).toBeGreaterThanOrEqual(1);
		expect(second.body.runs[0].id).not.toBe(first.body.runs[1].id);
		expect(new Set([...first.body.runs, ...second.body.runs].map((r) => r.id)).size).toBe(
			first.body.runs.length + second.body.runs.length
		);
		const failed = await get<RunsResponse>('/api/v1/runs?status=failed&limit=50');
		expect(failed.body.runs.every((run) => run.status === 'failed')).toBe(true);
		// a run whose failing task printed no progress got nowhere: not a full red bar
		expect(failed.body.runs[0].progress).toBeLessThan(100);
		expect((await get('/api/v1/runs?offset=-1')).status).toBe(400);
	});

	it('names downloads after workflow, task and step, and downloads all steps of a task and a run', async () => {
		const { run, tasks } = await runToEnd('quick');
		const second = tasks.find((t) => t.key === 'second')!;
		const detail = (await get<TaskResponse>(`/api/v1/tasks/${second.id}`)).body.task;
		const [one, two] = detail.executions;

		const plain = await fetch(`${aco.url}/api/v1/executions/${one.id}/log?ansi=strip`);
		expect(plain.headers.get('content-disposition')).toBe('attachment; filename="quick-second-one.log"');
		const ansi = await fetch(`${aco.url}/api/v1/executions/${two.id}/log?ansi=keep`);
		expect(ansi.headers.get('content-disposition')).toBe('attachment; filename="quick-second-two.ansi.log"');
		const ndjson = await fetch(`${aco.url}/api/v1/executions/${one.id}/log?format=ndjson`);
		expect(ndjson.headers.get('content-disposition')).toContain('quick-second-one.ndjson');

		const all = await fetch(`${aco.url}/api/v1/tasks/${second.id}/log`);
		expect(all.headers.get('content-disposition')).toBe('attachment; filename="quick-second.log"');
		// each step after its header
		expect(await all.text()).toBe(
			'=== Second › Step 1/2: one · succeeded, exit code 0 ===\nsecond-a\n' +
				'=== Second › Step 2/2: two · succeeded, exit code 0 ===\nno newline at end\n'
		);

		const runLog = await fetch(`${aco.url}/api/v1/runs/${run.id}/log`);
		expect(runLog.headers.get('content-disposition')).toMatch(
			/^attachment; filename="quick-run-[a-z0-9_-]+\.log"$/
		);
		const text = await runLog.text();
		expect(text.indexOf('=== First › Step 1/1: count')).toBe(0);
		expect(text).toContain('line 50\n');
		expect(text.indexOf('=== Second › Step 1/2')).toBeGreaterThan(text.indexOf('line 50'));

		const runNdjson = await fetch(`${aco.url}/api/v1/runs/${run.id}/log?format=ndjson`);
		const rows = (await runNdjson.text())
			.trim()
			.split('\n')
			.map((row) => JSON.parse(row) as { task: string; step: number; n: number; text: string });
		expect(rows[0]).toMatchObject({ task: 'first', step: 0, n: 1, text: 'line 1' });
		expect(rows.at(-1)).toMatchObject({ task: 'second', step: 1, n: 1, text: 'no newline at end' });
	});
});

describe('the sign-in page while the database cannot be reached', () => {
	const TOKEN = 'pages-operator-token-0123456789';
	let pg: TestPostgres;
	let aco: AcoProcess;

	const signIn = () =>
		fetch(`${aco.url}/signin`, {
			method: 'POST',
			redirect: 'manual',
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: aco.url },
			body: new URLSearchParams({ token: TOKEN, next: '/' })
		});

	beforeAll(async () => {
		pg = await startPostgres();
		aco = await startAco({
			workflowsDir: FIXTURES,
			env: { ACO_DATABASE_URL: await pg.createDatabase(), ACO_TOKEN: TOKEN }
		});
	});
	afterAll(async () => {
		await aco?.stop();
		await pg?.close();
	});

	it('answers 503 with the reason on the form, not an error page, and signs in once it is back', async () => {
		await pg.stop();
		try {
			const res = await signIn();
			const html = await res.text();
			expect(res.status).toBe(503);
			expect(res.headers.get('retry-after')).toBe('2');
			expect(res.headers.get('set-cookie')).toBeNull();
			expect(html).toContain('The database cannot be reached right now');
			// the form is shown again, with the reason next to it
			expect(html).toMatch(/<form method="POST"/);
			expect(aco.output()).toMatch(/"msg":"sign-in refused: the database cannot be reached"/);
		} finally {
			await pg.start();
		}
		await expect.poll(async () => (await signIn()).status, { timeout: 15_000 }).toBe(303);
	});

	it('answers 503 to a sign-out and keeps the cookie, so signing out again once it is back ends the session', async () => {
		const signedIn = await signIn();
		expect(signedIn.status).toBe(303);
		const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
		const signOut = () =>
			fetch(`${aco.url}/signout`, {
				method: 'POST',
				redirect: 'manual',
				headers: { cookie, accept: 'text/html', origin: aco.url }
			});
		await pg.stop();
		try {
			const res = await signOut();
			expect(res.status).toBe(503);
			expect(res.headers.get('retry-after')).toBe('2');
			expect(res.headers.get('set-cookie')).toBeNull();
			// the session cannot be looked up, let alone ended: the access check answers for the route
			expect(((await res.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
		} finally {
			await pg.start();
		}
		await expect.poll(async () => (await signOut()).status, { timeout: 15_000 }).toBe(303);
		// ended: the cookie no longer signs anyone in
		const session = await fetch(`${aco.url}/api/v1/session`, { headers: { cookie } });
		expect(session.status).toBe(401);
	});
});
