/**
 * Delivery and replay against a real hub with real `ws` clients: a client that reconnects and
 * resumes gets exactly the events it missed that match its subscription, in order, then the
 * live stream, with no gap and no repeat at the boundary; when history cannot cover the gap
 * it is told to reset with how many events it missed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../src/lib/protocol/events';
import { matchesFilter } from '../../src/lib/protocol/filter';
import type {
	AnyEventEnvelope,
	ControlMessage,
	EventFilter,
	WelcomeData
} from '../../src/lib/protocol/messages';
import { isEventEnvelope } from '../../src/lib/protocol/messages';
import { failed, output, progress, sleep, startHubServer, turn, type HubServer } from '../helpers/hub-server';
import type { TestClient } from '../helpers/ws-client';

let s: HubServer | undefined;
afterEach(async () => {
	await s?.stop();
	s = undefined;
});

function seqsOf(client: TestClient, from = 0): number[] {
	return client.messages
		.slice(from)
		.filter(isEventEnvelope)
		.map((e) => e.seq);
}

describe('hub: resume', () => {
	it('replays exactly the missed events of the subscription in order, then goes on live without a repeat', async () => {
		s = await startHubServer();
		const first = await s.join();
		await first.request({ type: 'subscribe', filter: { task_ids: ['t1'] } });
		s.bus.publish(progress('t1', null, 1));
		s.bus.publish(progress('t2', null, 1));
		await first.sync();
		expect(seqsOf(first)).toEqual([1]);
		await first.close();

		// seqs 3, 5 and 7 are for t1
		for (let i = 3; i <= 7; i++) s.bus.publish(i % 2 ? output('t1', null, i) : progress('t2', null, i));
		const again = await s.connect();
		const welcome = await again.nextOfType<ControlMessage<'welcome'>>('welcome');
		again.send({ type: 'subscribe', filter: { task_ids: ['t1'] } });
		again.send({ type: 'resume', epoch: welcome.data.epoch, seq: 1 });
		// events keep arriving while the resume is on its way and being answered
		s.bus.publish(failed('t1', null));
		await turn();
		s.bus.publish(output('t1', null, 8));
		const resumed = await again.nextOfType<ControlMessage<'resumed'>>('resumed');
		// 8 and 9 are replayed too if they were published before the resume reached the hub
		expect(resumed.data.replayed).toBeGreaterThanOrEqual(3);
		await again.sync();
		expect(seqsOf(again)).toEqual([3, 5, 7, 8, 9]);
	});

	it('tells a client to reset, with the count, when history no longer holds its gap or it comes from another epoch', async () => {
		s = await startHubServer({ historyMaxEvents: 5 });
		const client = await s.join();
		await client.request({ type: 'subscribe', filter: {} });
		for (let i = 1; i <= 20; i++) s.bus.publish(progress('t1', null, i));
		await client.sync();
		const { epoch } = s.hub.stats();
		const tooOld = await client.request<ControlMessage<'reset'>>({ type: 'resume', epoch, seq: 10 });
		expect(tooOld).toMatchObject({ type: 'reset', data: { missed: 10, epoch, seq: 20 } });
		const covered = await client.request<ControlMessage<'resumed'>>({ type: 'resume', epoch, seq: 15 });
		expect(covered.type).toBe('resumed');
		const other = await client.request<ControlMessage<'reset'>>({
			type: 'resume',
			epoch: 'before-restart',
			seq: 3
		});
		expect(other).toMatchObject({ type: 'reset', data: { missed: 20, epoch, seq: 20 } });
		expect(s.hub.stats().history).toMatchObject({ events: 5, oldest_seq: 16, newest_seq: 20, resets: 2 });
	});
});

/** A client that reconnects and resumes like the browser's connection does, keeping every event it got. */
class ResumingClient {
	readonly received: AnyEventEnvelope[] = [];
	epoch = '';
	seq = 0;
	resets = 0;
	reconnects = 0;
	/** between dropping its socket and its next welcome */
	reconnecting = false;
	#client: TestClient | null = null;
	#read = 0;

	constructor(
		readonly server: HubServer,
		readonly filter: EventFilter
	) {}

	async connect(): Promise<void> {
		const client = await this.server.connect();
		const welcome = await client.nextOfType<ControlMessage<'welcome'>>('welcome');
		const data: WelcomeData = welcome.data;
		if (this.epoch) {
			client.send({ type: 'subscribe', filter: this.filter });
			client.send({ type: 'resume', epoch: this.epoch, seq: this.seq });
		} else {
			// the first time, the test's stream starts once every client is subscribed
			await client.request({ type: 'subscribe', filter: this.filter });
			this.seq = data.seq;
		}
		this.epoch = data.epoch;
		this.#client = client;
		this.#read = 0;
		client.ws.on('message', () => this.#collect());
	}

	#collect(): void {
		const client = this.#client!;
		for (; this.#read < client.messages.length; this.#read++) {
			const message = client.messages[this.#read]!;
			if (isEventEnvelope(message)) {
				this.received.push(message);
				this.seq = Math.max(this.seq, message.seq);
			} else if (message.type === 'reset') this.resets += 1;
		}
	}

	async reconnect(): Promise<void> {
		this.reconnecting = true;
		this.#client?.terminate();
		this.reconnects += 1;
		await sleep(Math.random() * 20);
		await this.connect();
		this.reconnecting = false;
	}

	async sync(): Promise<void> {
		await this.#client!.sync(10_000);
		this.#collect();
	}

	close(): void {
		this.#client?.terminate();
	}
}

function eventMix(n: number): AnyDomainEvent[] {
	const events: AnyDomainEvent[] = [];
	for (let i = 0; i < n; i++) {
		const taskId = `t${i % 7}`;
		const runId = `r${i % 3}`;
		if (i % 97 === 0) events.push(failed(taskId, runId));
		else if (i % 5 === 0) events.push(progress(taskId, runId, i % 100));
		else events.push(output(taskId, runId, i));
	}
	return events;
}

describe('hub: 20 clients, 10,000 events, random disconnects', () => {
	it('gives every client exactly the events of its subscription, in order, none twice', async () => {
		s = await startHubServer({ queueMaxMessages: 2000, maxConnections: 100, maxConnectionsPerIp: 100 });
		const filters: EventFilter[] = [
			{},
			{ task_ids: ['t1'] },
			{ run_ids: ['r2'] },
			{ types: ['task.*'] },
			{ statuses: ['failed'] },
			{ task_ids: ['t3', 't4'], types: ['tool.lines'] }
		];
		const clients = Array.from(
			{ length: 20 },
			(_, i) => new ResumingClient(s!, filters[i % filters.length]!)
		);
		await Promise.all(clients.map((c) => c.connect()));
		const events = eventMix(10_000);
		let reconnecting: Promise<void>[] = [];
		for (let i = 0; i < events.length; i += 25) {
			for (const event of events.slice(i, i + 25)) s.bus.publish(event);
			if (i % 500 === 0) {
				// the stream goes at the readers' pace, not the loop's: the connected ones have all of
				// it before more comes, so none falls behind by the queue bound (2,000 events) on a
				// loaded machine and is served as a slow reader (progress coalesced); replays still
				// run beside the stream
				await Promise.all(clients.filter((c) => !c.reconnecting).map((c) => c.sync()));
				const victim = clients[Math.floor(Math.random() * clients.length)]!;
				reconnecting.push(victim.reconnect());
			}
			await turn();
		}
		await Promise.all(reconnecting);
		reconnecting = [];
		await Promise.all(clients.map((c) => c.sync()));

		const stats = s.hub.stats();
		expect(stats.seq).toBe(10_000);
		expect(stats.backpressure).toMatchObject({ dropped: 0, coalesced: 0, slow_consumer_closes: 0 });
		expect(clients.reduce((n, c) => n + c.reconnects, 0)).toBeGreaterThanOrEqual(20);
		for (const client of clients) {
			const expected = events.flatMap((event, i) => (matchesFilter(client.filter, event) ? [i + 1] : []));
			const got = client.received.map((e) => e.seq);
			expect(client.resets).toBe(0);
			const missing = expected.filter((seq) => !got.includes(seq));
			expect(missing).toEqual([]);
			expect(got.length).toBe(expected.length);
			expect(got).toEqual(expected);
		}
		for (const client of clients) client.close();
	}, 60_000);
});
