/**
 * A real tool printing as fast as its pipe allows, through the real server (runner, log
 * pipeline, store, bus, hub): many clients that read at full speed each get every line, in
 * order, with no `dropped` notice; and the lines of one read of the tool's pipe travel together
 * as one `tool.lines` event, so a subscriber gets the whole output in far fewer events than lines.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope, RunResponse } from '../../src/lib/protocol';
import { subscribedClients, type CountingClient } from '../helpers/counting-client';
import { isToolLines, liveLines } from '../helpers/live-lines';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/log-workflows');
const CLIENTS = 10;

/** lines the fixture streams when it prints `stdout` lines: it also prints one on stderr per 1000 */
const streamedLines = (stdout: number) => stdout + Math.floor(stdout / 1000);

/** the fixture's generator (tests/fixtures/log-workflows/flood.yml) */
const expectedStdout = (i: number) =>
	i % 10 === 0
		? `\x1b[31mERROR\x1b[0m item ${i} failed\twith code ${i % 97}`
		: `item ${i} ok ${'.'.repeat(i % 40)}`;

async function startFlood(aco: AcoProcess): Promise<string> {
	const res = await fetch(`${aco.url}/api/v1/workflows/flood/runs`, { method: 'POST' });
	expect(res.status).toBe(201);
	return ((await res.json()) as RunResponse).run.id;
}

describe('a tool printing flat out', () => {
	const LINES = 20_000;
	const STREAMED = streamedLines(LINES);
	let aco: AcoProcess;
	let clients: CountingClient[] = [];

	beforeAll(async () => {
		aco = await startAco({ workflowsDir: WORKFLOWS, env: { FLOOD_LINES: String(LINES) } });
	});
	afterAll(async () => {
		for (const client of clients) client.ws.terminate();
		await aco?.stop();
	});

	it(`reaches each of ${CLIENTS} clients reading at full speed with every line, in order, nothing dropped`, async () => {
		clients = await subscribedClients(aco.wsUrl, CLIENTS);
		// the run's progress may be coalesced for a client behind the stream; its lines never are
		for (const client of clients) client.allowSkips = true;
		const runId = await startFlood(aco);
		await Promise.all(
			clients.map((c) =>
				c.until(
					() => c.lines === STREAMED && c.count('workflow.completed') === 1,
					`${STREAMED} lines and the end of run ${runId}`,
					90_000
				)
			)
		);
		for (const client of clients) {
			expect(client.errors).toEqual([]);
			expect(client.controls.filter((c) => c.type === 'dropped')).toEqual([]);
			expect(client.closeCode).toBeNull();
		}
		const stats = (await (await fetch(`${aco.url}/api/v1/realtime/stats`)).json()) as {
			backpressure: { dropped: number; slow_consumer_closes: number };
		};
		expect(stats.backpressure).toMatchObject({ dropped: 0, slow_consumer_closes: 0 });
	}, 120_000);
});

describe('the lines of a tool printing flat out', () => {
	const LINES = 5_000;
	const STREAMED = streamedLines(LINES);
	let aco: AcoProcess;
	let client: TestClient | undefined;

	beforeAll(async () => {
		aco = await startAco({ workflowsDir: WORKFLOWS, env: { FLOOD_LINES: String(LINES) } });
	});
	afterAll(async () => {
		client?.terminate();
		await aco?.stop();
	});

	it('reach a subscriber in full and in order, many lines to a `tool.lines` event', async () => {
		client = await connect(aco.wsUrl, {}, 10_000);
		await client.nextOfType('welcome', 10_000);
		await client.request({ type: 'subscribe', filter: { types: ['tool.*', 'workflow.*'] } }, 10_000);
		const runId = await startFlood(aco);
		await client.next(
			(m) =>
				m.type === 'workflow.completed' && (m as EventEnvelope<'workflow.completed'>).data.run_id === runId,
			60_000
		);
		const events = client.messages.filter(isToolLines).filter((e) => e.data.run_id === runId);
		const lines = liveLines(events);
		expect(lines.map((l) => l.line)).toEqual(Array.from({ length: STREAMED }, (_, i) => i + 1));
		expect(lines.filter((l) => !l.is_stderr).map((l) => l.output)).toEqual(
			Array.from({ length: LINES }, (_, i) => expectedStdout(i + 1))
		);
		expect(lines.filter((l) => l.is_stderr).map((l) => l.output)).toEqual(
			Array.from({ length: LINES / 1000 }, (_, i) => `warning at ${(i + 1) * 1000}`)
		);
		// a read of the tool's pipe holds many lines, and they leave as one event
		expect(events.length).toBeLessThan(lines.length / 10);
	});
});
