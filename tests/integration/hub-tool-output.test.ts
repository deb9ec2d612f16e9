/**
 * A real tool printing as fast as its pipe allows, through the real server (runner, log
 * pipeline, store, bus, hub), watched by many clients that read at full speed: every client
 * gets every line, in order, with no `dropped` notice.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResponse } from '../../src/lib/protocol';
import { subscribedClients, type CountingClient } from '../helpers/counting-client';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/log-workflows');
const LINES = 20_000;
/** the fixture also prints one stderr line per 1000 */
const OUTPUT_EVENTS = LINES + LINES / 1000;
const CLIENTS = 10;

describe('a tool printing flat out', () => {
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
		const res = await fetch(`${aco.url}/api/v1/workflows/flood/runs`, { method: 'POST' });
		expect(res.status).toBe(201);
		const { run } = (await res.json()) as RunResponse;
		await Promise.all(
			clients.map((c) =>
				c.until(
					() => c.count('tool.output') === OUTPUT_EVENTS && c.count('workflow.completed') === 1,
					`${OUTPUT_EVENTS} lines and the end of run ${run.id}`,
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
