/**
 * The hub's flow control against real `ws` clients: a fast tool's burst of output reaches
 * every client that reads at full speed completely, and a resume far behind streams its whole
 * replay under the default byte caps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlMessage } from '../../src/lib/protocol/messages';
import { CountingClient, subscribedClients } from '../helpers/counting-client';
import { output, startHubServer, turn, type HubServer } from '../helpers/hub-server';

let s: HubServer | undefined;
afterEach(async () => {
	await s?.stop();
	s = undefined;
});

/** A line of about 200 bytes, as a build tool prints them. */
const lineText = (i: number) => `[${String(i).padStart(6, '0')}] compiling module ${'x'.repeat(170)}`;

describe('hub: a burst of output', () => {
	it('reaches every client that reads at full speed completely and in order, with nothing dropped', async () => {
		// production defaults: a client's queue holds 100 events, its byte cap is 4 MiB
		s = await startHubServer({ maxConnections: 100, maxConnectionsPerIp: 100 });
		const clients = await subscribedClients(s.url, 20);
		const total = 20_000;
		// many events in one event-loop turn: the hub's worst case (a tool's pipe read or an ingest
		// message now goes as one event; here each line is an event of its own, as a peer's would be)
		const chunks = [5_000, 500, 500, 2_000, 12_000];
		let line = 0;
		for (const size of chunks) {
			for (let i = 0; i < size; i++, line++) s.bus.publish(output('t1', 'r1', line + 1, lineText(line)));
			await turn();
		}
		expect(line).toBe(total);
		await Promise.all(clients.map((c) => c.until(() => c.received >= total, `all ${total} events`, 60_000)));
		for (const client of clients) {
			expect(client.errors).toEqual([]);
			expect(client.received).toBe(total);
			expect(client.controls.filter((m) => m.type === 'dropped')).toEqual([]);
			expect(client.closeCode).toBeNull();
		}
		expect(s.hub.stats().backpressure).toMatchObject({ dropped: 0, slow_consumer_closes: 0 });
	}, 90_000);
});

describe('hub: a resume far behind', () => {
	it('streams a replay of 20,000 events under the default 4 MiB byte cap, in order, then the live stream', async () => {
		// default byte caps (4 MiB per client, 64 MiB of history); history long enough for the gap
		s = await startHubServer({ historyMaxEvents: 50_000 });
		const [first] = await subscribedClients(s.url, 1);
		const { epoch, seq: start } = first!.welcome!;
		first!.ws.terminate();

		const missed = 20_000;
		for (let i = 0; i < missed; i++) {
			s.bus.publish(output('t1', 'r1', i + 1, lineText(i)));
			if (i % 1000 === 999) await turn();
		}
		const again = new CountingClient(s.url);
		await again.opened();
		again.next = start + 1;
		again.send({ type: 'subscribe', id: 'sub', filter: {} });
		again.send({ type: 'resume', id: 'resume', epoch, seq: start });
		// live events keep coming while the replay streams
		for (let i = missed; i < missed + 500; i++) {
			s.bus.publish(output('t1', 'r1', i + 1, lineText(i)));
			if (i % 50 === 0) await turn();
		}
		const answered = () => again.controls.find((m) => m.type === 'resumed' || m.type === 'reset');
		await again.until(() => answered() !== undefined, 'an answer to the resume', 60_000);
		expect(answered()).toMatchObject({ type: 'resumed' });
		expect((answered() as ControlMessage<'resumed'>).data.replayed).toBeGreaterThanOrEqual(missed);
		await again.until(() => again.received >= missed + 500, 'the replay and the live events', 60_000);
		s.bus.publish(output('t1', 'r1', missed + 501));
		await again.until(() => again.next === start + missed + 502, 'one more live event');
		expect(again.errors).toEqual([]);
		expect(again.received).toBe(missed + 501);
		expect(again.closeCode).toBeNull();
	}, 90_000);
});
