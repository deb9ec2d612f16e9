import { describe, expect, it } from 'vitest';
import { createCounters } from './counters';
import { COUNTER_METRICS, HubMetrics, type LiveFigures } from './metrics';

const live = (): LiveFigures => ({
	connections: 3,
	clientsUnderBackpressure: 1,
	queuedEvents: 7,
	historyEvents: 40,
	historyBytes: 4000,
	subscriptions: 5,
	wireBytesSent: 900,
	rejectedByReason: { capacity: 2, per_ip: 1 },
	connectionsCreated: 9
});

describe('HubMetrics', () => {
	it('exports the shared counters and live figures under their aco_hub_ names when scraped', async () => {
		const counters = createCounters();
		const metrics = new HubMetrics({ counters, live });
		counters.messagesSent = 12;
		counters.eventsDropped = 4;
		counters.eventsByType['tool.lines'] = 30;
		const text = await metrics.text();
		expect(text).toContain('aco_hub_messages_sent_total 12');
		expect(text).toContain('aco_hub_events_dropped_total 4');
		expect(text).toContain('aco_hub_events_published_total{type="tool.lines"} 30');
		expect(text).toContain('aco_hub_connections_rejected_total{reason="capacity"} 2');
		expect(text).toContain('aco_hub_connections_active 3');
		expect(text).toContain('aco_hub_queued_events 7');
		counters.messagesSent = 13;
		expect(await metrics.text()).toContain('aco_hub_messages_sent_total 13');
		for (const name of Object.keys(COUNTER_METRICS)) expect(name).toMatch(/^aco_hub_[a-z_]+_total$/);
	});

	it('keeps a delivery latency histogram in seconds and its mean in ms', async () => {
		const metrics = new HubMetrics({ counters: createCounters(), live });
		metrics.observeLatency(0.2);
		metrics.observeLatency(30);
		const text = await metrics.text();
		expect(text).toContain('aco_hub_delivery_latency_seconds_bucket{le="0.0005"} 1');
		expect(text).toContain('aco_hub_delivery_latency_seconds_bucket{le="0.05"} 2');
		expect(text).toContain('aco_hub_delivery_latency_seconds_count 2');
		expect(metrics.latencySummary()).toEqual({ count: 2, mean_ms: 15.1 });
	});

	it("labels every series with the node's id, so a cluster's scrapes tell the nodes apart", async () => {
		const counters = createCounters();
		counters.messagesSent = 2;
		const metrics = new HubMetrics({ counters, live, node: 'node-b' });
		metrics.observeLatency(1);
		const text = await metrics.text();
		expect(text).toContain('aco_hub_messages_sent_total{node="node-b"} 2');
		expect(text).toContain('aco_hub_connections_rejected_total{reason="capacity",node="node-b"} 2');
		expect(text).toContain('aco_hub_delivery_latency_seconds_count{node="node-b"} 1');
	});

	it('gives each hub its own registry, so two hubs in one process do not collide', () => {
		expect(() => [0, 1].map(() => new HubMetrics({ counters: createCounters(), live }))).not.toThrow();
	});
});
