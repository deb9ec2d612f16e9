/**
 * The hub inside the real server (server.ts on the adapter-node build): the stats, system
 * metrics and Prometheus endpoints count what a run did, and after a restart (a new epoch) a
 * resuming client is told to reset, with a count, while the REST API still serves the run.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
	HealthResponse,
	RealtimeStatsResponse,
	RunResponse,
	SystemMetricsResponse
} from '../../src/lib/protocol/api';
import type { AnyEventEnvelope, ControlMessage, EventEnvelope } from '../../src/lib/protocol/messages';
import { isEventEnvelope } from '../../src/lib/protocol/messages';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const FIXTURES = path.join(ROOT, 'tests/fixtures/workflows');

async function getJson<T>(aco: AcoProcess, url: string): Promise<T> {
	const res = await fetch(aco.url + url);
	expect(res.status).toBe(200);
	return (await res.json()) as T;
}

/** `name{labels} value` lines of a Prometheus exposition, by name and label text. */
/** the value of a series, read without its `node` label (every series of a node has one) */
function promValue(text: string, series: string): number | undefined {
	const unlabelled = (line: string) => line.replace(/,?node="[^"]*"/, '').replace('{}', '');
	const line = text
		.split('\n')
		.map(unlabelled)
		.find((l) => l.startsWith(series + ' '));
	return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('hub in the server', () => {
	let aco: AcoProcess;
	let client: TestClient;
	let runId: string;
	let received: AnyEventEnvelope[];

	beforeAll(async () => {
		aco = await startAco({ workflowsDir: FIXTURES, env: { ACO_KILL_GRACE_MS: '500' } });
		client = await connect(aco.wsUrl);
		await client.nextOfType('welcome');
		await client.request({ type: 'subscribe', filter: {} });
		const res = await fetch(`${aco.url}/api/v1/workflows/quick/runs`, { method: 'POST' });
		runId = ((await res.json()) as RunResponse).run.id;
		await client.next(
			(m) =>
				m.type === 'workflow.completed' && (m as EventEnvelope<'workflow.completed'>).data.run_id === runId,
			30_000
		);
		await client.sync();
		received = client.messages.filter(isEventEnvelope);
	}, 60_000);
	afterAll(async () => {
		client?.terminate();
		await aco?.stop();
	});

	it('reports in /api/v1/realtime/stats the events, deliveries and connections of the run', async () => {
		const stats = await getJson<RealtimeStatsResponse>(aco, '/api/v1/realtime/stats');
		const byType: Record<string, number> = {};
		for (const e of received) byType[e.type] = (byType[e.type] ?? 0) + 1;
		expect(stats.events_by_type).toEqual(byType);
		expect(stats.seq).toBe(received.length);
		expect(stats.messages.events_delivered).toBe(received.length);
		expect(stats.connections).toMatchObject({ active: 1, total_created: 1, rejected: 0 });
		expect(stats.history.events).toBe(received.length);
		expect(stats.backpressure).toMatchObject({ dropped: 0, coalesced: 0, clients_under_backpressure: 0 });
		expect(stats.delivery_latency.count).toBe(received.length);
		expect(Date.parse(stats.timestamp)).toBeGreaterThan(Date.now() - 10_000);
	});

	it('serves the same counts as Prometheus text at /metrics, and process figures at /api/v1/system/metrics', async () => {
		const res = await fetch(`${aco.url}/metrics`);
		expect(res.headers.get('content-type')).toContain('text/plain');
		const text = await res.text();
		const outputs = received.filter((e) => e.type === 'tool.lines').length;
		expect(outputs).toBeGreaterThan(0);
		expect(promValue(text, 'aco_hub_events_published_total{type="tool.lines"}')).toBe(outputs);
		expect(promValue(text, 'aco_hub_events_delivered_total')).toBe(received.length);
		expect(promValue(text, 'aco_hub_connections_active')).toBe(1);
		expect(promValue(text, 'aco_hub_delivery_latency_seconds_count')).toBe(received.length);
		expect(text).toContain('process_resident_memory_bytes');
		// each node labels its own figures, so a cluster's scrapes tell them apart
		const { node } = await getJson<HealthResponse>(aco, '/api/v1/healthz');
		const series = text.split('\n').filter((line) => line.startsWith('aco_hub_'));
		expect(series.length).toBeGreaterThan(10);
		for (const line of series) expect(line).toContain(`node="${node}"`);

		const system = await getJson<SystemMetricsResponse>(aco, '/api/v1/system/metrics');
		expect(system.process.memory.rss).toBeGreaterThan(0);
		expect(system.process.pid).toBe(aco.proc.pid);
		expect(system.hub.seq).toBe(received.length);
	});

	it('after a restart tells a resuming client to reset with a count, and the REST API still serves the run', async () => {
		const welcome = client.messages.find((m) => m.type === 'welcome') as ControlMessage<'welcome'>;
		const { epoch } = welcome.data;
		const seq = received.at(-1)!.seq;
		client.terminate();
		await aco.stop();
		aco = await startAco({ workflowsDir: FIXTURES, dataDir: aco.dataDir, env: { ACO_KILL_GRACE_MS: '500' } });
		client = await connect(aco.wsUrl);
		const again = await client.nextOfType<ControlMessage<'welcome'>>('welcome');
		expect(again.data.epoch).not.toBe(epoch);
		client.send({ type: 'subscribe', filter: {} });
		const reset = await client.request<ControlMessage<'reset'>>({ type: 'resume', epoch, seq });
		expect(reset.type).toBe('reset');
		expect(reset.data).toMatchObject({ missed: again.data.seq, epoch: again.data.epoch });
		const run = await getJson<RunResponse>(aco, `/api/v1/runs/${runId}`);
		expect(run.run.status).toBe('succeeded');
	}, 60_000);
});
