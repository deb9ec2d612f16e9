/**
 * The WebSocket hub against a real HTTP server on port 0 with real `ws` clients: welcome,
 * heartbeats, liveness closes, filters, invalid input, limits and shutdown.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, DomainEvent } from '../../src/lib/protocol/events';
import type { AnyEventEnvelope, ControlMessage, ServerMessage } from '../../src/lib/protocol/messages';
import { withConnectSubscriptions } from '../../src/lib/protocol/connect-subscriptions';
import { PROTOCOL_VERSION } from '../../src/lib/protocol/limits';
import type { EventFilter } from '../../src/lib/protocol/messages';
import { isEventEnvelope, MAX_SUBSCRIPTIONS } from '../../src/lib/protocol/messages';
import type { TaskStatus } from '../../src/lib/protocol/models';
import { defaultHubConfig, type HubConfig } from '../../src/lib/server/config';
import {
	failed,
	NOW,
	output,
	progress,
	startHubServer as startSharedHubServer,
	task,
	type HubServer
} from '../helpers/hub-server';
import { connect, upgradeRequest, type TestClient } from '../helpers/ws-client';

// ---------- a hub on a real server ----------

const BASE_CONFIG: HubConfig = {
	...defaultHubConfig(),
	maxConnections: 50,
	heartbeatIntervalMs: 30_000,
	idleTimeoutMs: 120_000,
	maxInboundBytes: 1024,
	maxBufferedBytes: 4 * 1024 * 1024,
	allowedOrigins: ['https://dashboard.example']
};

function startHubServer(overrides: Partial<HubConfig> = {}): Promise<HubServer> {
	return startSharedHubServer({ ...BASE_CONFIG, ...overrides });
}

// ---------- events ----------

function status(taskId: string, runId: string | null, value: TaskStatus): DomainEvent<'task.status'> {
	return {
		type: 'task.status',
		timestamp: NOW,
		data: { task_id: taskId, run_id: runId, status: value, message: null, task: task(taskId, runId, value) }
	};
}

function taskIdOf(envelope: AnyEventEnvelope): string | undefined {
	return (envelope.data as { task_id?: string }).task_id;
}

function events(messages: ServerMessage[]): AnyEventEnvelope[] {
	return messages.filter(isEventEnvelope);
}

/** Publishes, then waits until every frame the hub sent the client before now has arrived. */
async function publishAndSync(
	hubServer: HubServer,
	client: TestClient,
	list: AnyDomainEvent[]
): Promise<AnyEventEnvelope[]> {
	for (const event of list) hubServer.bus.publish(event);
	return events(await client.sync());
}

async function subscribe(
	client: TestClient,
	filter: Record<string, unknown>,
	sub = 'default'
): Promise<void> {
	const reply = await client.request({ type: 'subscribe', sub, filter });
	expect(reply.type).toBe('subscribed');
}

// ---------- tests ----------

describe('hub: connection, heartbeat and messages', () => {
	let s: HubServer;
	beforeAll(async () => {
		s = await startHubServer();
	});
	afterEach(() => s.disconnectAll());
	afterAll(() => s.stop());

	it('greets each client with a welcome carrying its id, the stream position, the protocol and the limits', async () => {
		s.bus.publish(progress('t0', null, 1));
		const a = await s.connect();
		const b = await s.connect();
		const welcomeA = await a.next<ControlMessage<'welcome'>>();
		const welcomeB = await b.next<ControlMessage<'welcome'>>();

		expect(welcomeA.type).toBe('welcome');
		expect(Date.parse(welcomeA.timestamp)).not.toBeNaN();
		expect(welcomeA.data).toEqual({
			client_id: expect.any(String),
			epoch: s.hub.stats().epoch,
			seq: s.hub.stats().seq,
			protocol: PROTOCOL_VERSION,
			heartbeat_interval_ms: BASE_CONFIG.heartbeatIntervalMs,
			idle_timeout_ms: BASE_CONFIG.idleTimeoutMs,
			limits: { max_message_bytes: BASE_CONFIG.maxInboundBytes, max_subscriptions: MAX_SUBSCRIPTIONS }
		});
		expect(welcomeA.data.seq).toBeGreaterThan(0);
		expect(welcomeA.data.epoch.length).toBeGreaterThanOrEqual(8);
		expect(welcomeB.data.client_id).not.toBe(welcomeA.data.client_id);
	});

	it('takes the subscriptions the upgrade URL names: answered after the welcome, events flow with no message sent', async () => {
		const { url } = withConnectSubscriptions(s.url, [
			{ sub: 'one', filter: { task_ids: ['t1'] } },
			{ sub: 'bad', filter: { types: ['no.such.type'] } as EventFilter }
		]);
		const client = await connect(url);
		try {
			expect((await client.next()).type).toBe('welcome');
			expect(await client.next()).toMatchObject({
				type: 'subscribed',
				data: { id: 'one', filter: { task_ids: ['t1'] } }
			});
			const error = await client.next<ControlMessage<'error'>>();
			expect(error).toMatchObject({ type: 'error', data: { code: 'invalid_message', retryable: false } });
			expect(error.data.message).toContain('subscribe parameter 2');
			// nothing was sent: the subscription came with the handshake
			s.bus.publish(progress('t2', null, 5));
			s.bus.publish(progress('t1', null, 10));
			const event = await client.next(isEventEnvelope);
			expect(taskIdOf(event as AnyEventEnvelope)).toBe('t1');
			expect(client.isOpen).toBe(true);
			// the connection stays usable: messages subscribe as before
			await subscribe(client, { task_ids: ['t2'] }, 'two');
			const got = await publishAndSync(s, client, [progress('t2', null, 20)]);
			expect(got.map((e) => taskIdOf(e))).toEqual(['t2']);
		} finally {
			client.terminate();
		}
	});

	it('answers a heartbeat with the server time and the id it was sent with', async () => {
		const client = await s.join();
		const before = Date.now();
		const reply = await client.request<ControlMessage<'connection.heartbeat'>>({
			type: 'connection.heartbeat'
		});
		expect(reply.type).toBe('connection.heartbeat');
		expect(reply.data.ref).toMatch(/^req-/);
		expect(Date.parse(reply.data.server_time)).toBeGreaterThanOrEqual(before - 1);
	});

	it('sends no events to a client that has not subscribed', async () => {
		const client = await s.join();
		const got = await publishAndSync(s, client, [progress('t1', 'r1', 10), failed('t1', 'r1')]);
		expect(got).toEqual([]);
	});

	it('delivers only the events of the subscribed task ids and run ids', async () => {
		const client = await s.join();
		await subscribe(client, { task_ids: ['t1'], run_ids: ['r2'] });
		const got = await publishAndSync(s, client, [
			progress('t1', null, 10),
			progress('t2', 'r1', 20),
			progress('t3', 'r2', 30),
			progress('t4', null, 40)
		]);
		expect(got.map((e) => taskIdOf(e))).toEqual(['t1', 't3']);
	});

	it('matches event types exactly and by family wildcard', async () => {
		const exact = await s.join();
		const family = await s.join();
		await subscribe(exact, { types: ['task.failed'] });
		await subscribe(family, { types: ['task.*'] });
		const list = [progress('t1', 'r1', 5), output('t1', 'r1', 1), failed('t1', 'r1')];
		for (const event of list) s.bus.publish(event);
		expect(events(await exact.sync()).map((e) => e.type)).toEqual(['task.failed']);
		expect(events(await family.sync()).map((e) => e.type)).toEqual(['task.progress', 'task.failed']);
	});

	it('filters by status, leaving out events that carry none', async () => {
		const client = await s.join();
		await subscribe(client, { statuses: ['failed', 'cancelled'] });
		const got = await publishAndSync(s, client, [
			status('t1', null, 'running'),
			progress('t1', null, 50),
			status('t2', null, 'cancelled'),
			failed('t3', null)
		]);
		expect(got.map((e) => `${e.type}:${taskIdOf(e)}`)).toEqual(['task.status:t2', 'task.failed:t3']);
	});

	it('sends an event once even when several subscriptions match it', async () => {
		const client = await s.join();
		await subscribe(client, { task_ids: ['t1'] }, 'a');
		await subscribe(client, { types: ['task.progress'] }, 'b');
		const got = await publishAndSync(s, client, [progress('t1', null, 1)]);
		expect(got).toHaveLength(1);
	});

	it('numbers events with a seq that rises by one per event on the hub, in the seed envelope', async () => {
		const all = await s.join();
		const some = await s.join();
		await subscribe(all, {});
		await subscribe(some, { task_ids: ['odd'] });
		const start = s.hub.stats().seq;
		const list = [progress('odd', null, 1), progress('even', null, 2), progress('odd', null, 3)];
		const gotAll = await publishAndSync(s, all, list);
		const gotSome = events(await some.sync());

		expect(gotAll.map((e) => e.seq)).toEqual([start + 1, start + 2, start + 3]);
		expect(gotSome.map((e) => e.seq)).toEqual([start + 1, start + 3]);
		expect(gotAll[0]).toEqual({ type: 'task.progress', seq: start + 1, timestamp: NOW, data: list[0]!.data });
		expect(Object.keys(gotAll[0]!).sort()).toEqual(['data', 'seq', 'timestamp', 'type']);
	});

	it('stops delivery after unsubscribing one subscription, and all of them', async () => {
		const client = await s.join();
		await subscribe(client, { task_ids: ['t1'] }, 'one');
		await subscribe(client, { task_ids: ['t2'] }, 'two');

		const reply = await client.request<ControlMessage<'unsubscribed'>>({ type: 'unsubscribe', sub: 'one' });
		expect(reply.type).toBe('unsubscribed');
		expect(reply.data.id).toBe('one');
		let got = await publishAndSync(s, client, [progress('t1', null, 1), progress('t2', null, 1)]);
		expect(got.map((e) => taskIdOf(e))).toEqual(['t2']);

		const all = await client.request<ControlMessage<'unsubscribed'>>({ type: 'unsubscribe' });
		expect(all.data.id).toBeNull();
		got = await publishAndSync(s, client, [progress('t1', null, 2), progress('t2', null, 2)]);
		expect(got).toEqual([]);
	});

	it('reports an unknown subscription id on unsubscribe and keeps the others', async () => {
		const client = await s.join();
		await subscribe(client, { task_ids: ['t1'] }, 'kept');
		const reply = await client.request<ControlMessage<'error'>>({ type: 'unsubscribe', sub: 'nope' });
		expect(reply.type).toBe('error');
		expect(reply.data.code).toBe('unknown_subscription');
		expect(reply.data.message).toContain('"kept"');
		expect(await publishAndSync(s, client, [progress('t1', null, 1)])).toHaveLength(1);
	});

	it('refuses a subscription beyond the limit with an error and keeps the existing ones', async () => {
		const client = await s.join();
		for (let i = 0; i < MAX_SUBSCRIPTIONS; i += 1) await subscribe(client, { task_ids: [`t${i}`] }, `s${i}`);
		const over = await client.request<ControlMessage<'error'>>({
			type: 'subscribe',
			sub: 'extra',
			filter: {}
		});
		expect(over.data.code).toBe('too_many_subscriptions');
		// Replacing an existing subscription's filter is still allowed at the limit.
		await subscribe(client, { task_ids: ['t0', 'late'] }, 's0');
		expect((await publishAndSync(s, client, [progress('late', null, 1)])).length).toBe(1);
	});

	it('resumes a client that is up to date with nothing to replay and tells a client of another epoch to reset', async () => {
		const client = await s.join();
		await subscribe(client, {});
		const { epoch, seq } = s.hub.stats();
		const resumed = await client.request<ControlMessage<'resumed'>>({ type: 'resume', epoch, seq });
		expect(resumed.type).toBe('resumed');
		expect(resumed.data.replayed).toBe(0);

		const otherEpoch = await client.request<ControlMessage<'reset'>>({
			type: 'resume',
			epoch: 'old-epoch',
			seq
		});
		expect(otherEpoch.type).toBe('reset');
		expect(otherEpoch.data).toMatchObject({ missed: seq, epoch, seq });
	});

	it('answers invalid messages with errors and stays usable', async () => {
		const client = await s.join();
		const errorsBefore = s.hub.stats().errors;

		client.sendRaw('{not json');
		expect((await client.nextOfType<ControlMessage<'error'>>('error')).data).toMatchObject({
			code: 'invalid_json',
			retryable: false
		});
		const unknown = await client.request<ControlMessage<'error'>>({ type: 'shout' });
		expect(unknown.data.code).toBe('unknown_type');
		const badFilter = await client.request<ControlMessage<'error'>>({
			type: 'subscribe',
			filter: { types: ['nope'] }
		});
		expect(badFilter.data.code).toBe('invalid_message');
		expect(badFilter.data.message).toContain('filter.types');
		const extraField = await client.request<ControlMessage<'error'>>({
			type: 'subscribe',
			filter: { colour: 'red' }
		});
		expect(extraField.data.code).toBe('invalid_message');
		client.sendRaw(Buffer.from(JSON.stringify({ type: 'connection.heartbeat' })), { binary: true });
		expect((await client.nextOfType<ControlMessage<'error'>>('error')).data.code).toBe(
			'binary_not_supported'
		);

		const heartbeat = await client.request({ type: 'connection.heartbeat' });
		expect(heartbeat.type).toBe('connection.heartbeat');
		expect(client.isOpen).toBe(true);
		expect(s.hub.stats().errors - errorsBefore).toBe(5);
	});

	it('closes a client that sends a frame over the inbound limit with 1009 and keeps serving the others', async () => {
		const big = await s.join();
		const other = await s.join();
		big.sendRaw(
			JSON.stringify({ type: 'connection.heartbeat', id: 'x'.repeat(BASE_CONFIG.maxInboundBytes) })
		);
		expect((await big.waitForClose()).code).toBe(1009);

		expect((await other.request({ type: 'connection.heartbeat' })).type).toBe('connection.heartbeat');
		const fresh = await s.join();
		expect(fresh.isOpen).toBe(true);
	});

	it('answers a malformed upgrade with 400 from ws and keeps accepting good ones', async () => {
		const response = await upgradeRequest(s.url, { 'Sec-WebSocket-Key': null });
		expect(response.status).toBe(400);
		expect(response.body).toContain('Sec-WebSocket-Key');
		const client = await s.join();
		expect(client.isOpen).toBe(true);
	});

	it('counts connections, frames, bytes and events by type in stats', async () => {
		const before = s.hub.stats();
		const client = await s.join();
		await subscribe(client, {});
		await publishAndSync(s, client, [progress('t1', null, 1), failed('t1', null)]);
		const after = s.hub.stats();

		expect(after.connections.active).toBe(1);
		expect(after.connections.total_created).toBe(before.connections.total_created + 1);
		expect(after.connections.max).toBe(BASE_CONFIG.maxConnections);
		// welcome, subscribed, one batch of the two events, heartbeat reply
		expect(after.messages.sent - before.messages.sent).toBe(4);
		expect(after.messages.events_delivered - before.messages.events_delivered).toBe(2);
		expect(after.messages.received - before.messages.received).toBe(2);
		expect(after.messages.bytes_sent).toBeGreaterThan(before.messages.bytes_sent);
		expect(after.messages.bytes_received).toBeGreaterThan(before.messages.bytes_received);
		expect(after.events_by_type['task.failed']).toBe((before.events_by_type['task.failed'] ?? 0) + 1);
		expect(after.seq).toBe(before.seq + 2);
	});
});

describe('hub: liveness', () => {
	const HEARTBEAT_MS = 100;
	const IDLE_MS = 300;
	let s: HubServer;
	beforeAll(async () => {
		s = await startHubServer({ heartbeatIntervalMs: HEARTBEAT_MS, idleTimeoutMs: IDLE_MS });
	});
	afterEach(() => s.disconnectAll());
	afterAll(() => s.stop());

	it('closes a client that sends nothing for the idle timeout with 4000 and frees its slot', async () => {
		const client = await s.join();
		const start = Date.now();
		const closed = await client.waitForClose(IDLE_MS * 4);
		const elapsed = Date.now() - start;

		expect(closed.code).toBe(4000);
		expect(closed.reason).toContain('heartbeat');
		expect(elapsed).toBeGreaterThanOrEqual(IDLE_MS - 50);
		// The server frees the slot when its socket closes, a moment after the client saw the frame.
		await expect.poll(() => s.hub.stats().connections.active).toBe(0);
	});

	it('keeps a client that sends heartbeats open past the idle timeout', async () => {
		// A hub of its own: an idle timeout ten beats long, so a loaded event loop (client and
		// server share this process) that holds back a few beats cannot close the client, and no
		// ping round during the test (pings have their own test).
		const idleMs = 1_000;
		const beatMs = 100;
		const own = await startHubServer({ heartbeatIntervalMs: 60_000, idleTimeoutMs: idleMs });
		let beat: NodeJS.Timeout | undefined;
		try {
			const beating = await own.join();
			beat = setInterval(() => beating.send({ type: 'connection.heartbeat' }), beatMs);
			const silent = await own.join();
			// The silent client shows the idle sweep ran in this run; by then the beating one has
			// been open longer than the idle timeout, and it must outlive another one and a half.
			expect((await silent.waitForClose(idleMs * 20)).code).toBe(4000);
			expect(beating.isOpen).toBe(true);
			const closedEarly = await beating.waitForClose(idleMs * 1.5).catch(() => null);
			expect(closedEarly).toBeNull();
			expect(own.hub.stats().connections.active).toBe(1);
		} finally {
			clearInterval(beat);
			await own.stop();
		}
	});

	it('closes a client that does not answer pings with 4001', async () => {
		const client = await s.connect({ autoPong: false });
		const beat = setInterval(() => client.send({ type: 'connection.heartbeat' }), HEARTBEAT_MS / 2);
		try {
			const closed = await client.waitForClose(HEARTBEAT_MS * 6);
			expect(closed.code).toBe(4001);
		} finally {
			clearInterval(beat);
		}
	});

	it('drops a half-open peer that answers neither pings nor the close frame, and frees its slot', async () => {
		const peer = await silentPeer(s.url);
		await expect.poll(() => s.hub.stats().connections.active).toBe(1);
		await peer.ended;
		expect([4000, 4001]).toContain(closeCodeIn(peer.received()));
		await expect.poll(() => s.hub.stats().connections.active).toBe(0);
	}, 5_000); // ws's own close timeout is 30 s; the hub shortens it
});

/** Completes a WebSocket handshake over raw TCP and then never answers anything: a half-open peer. */
async function silentPeer(url: string): Promise<{ ended: Promise<void>; received: () => Buffer }> {
	const { hostname, port } = new URL(url);
	const socket = net.connect(Number(port), hostname);
	const chunks: Buffer[] = [];
	socket.on('data', (chunk: Buffer) => chunks.push(chunk));
	socket.on('error', () => {});
	const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
	await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
	socket.write(
		`GET /ws HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
			`Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
	);
	await expect.poll(() => Buffer.concat(chunks).toString('latin1')).toContain('101 Switching Protocols');
	return { ended, received: () => Buffer.concat(chunks) };
}

/** The code of the first close frame in a raw server byte stream (after the HTTP response). */
function closeCodeIn(bytes: Buffer): number | null {
	let at = bytes.indexOf('\r\n\r\n') + 4;
	while (at + 2 <= bytes.length) {
		const opcode = bytes[at]! & 0x0f;
		let length = bytes[at + 1]! & 0x7f;
		let header = 2;
		if (length === 126) {
			length = bytes.readUInt16BE(at + 2);
			header = 4;
		} else if (length === 127) {
			length = Number(bytes.readBigUInt64BE(at + 2));
			header = 10;
		}
		if (opcode === 0x8) return bytes.readUInt16BE(at + header);
		at += header + length;
	}
	return null;
}

describe('hub: origins', () => {
	let s: HubServer;
	beforeAll(async () => {
		s = await startHubServer();
	});
	afterAll(() => s.stop());

	it('refuses an upgrade from a page on another site with 403 and admits its own page, listed origins and non-browser clients', async () => {
		const host = new URL(s.url).host;
		const foreign = await upgradeRequest(s.url, { Origin: 'https://evil.example' });
		expect(foreign.status).toBe(403);
		expect(JSON.parse(foreign.body)).toMatchObject({ error: { code: 'forbidden_origin' } });
		expect((await upgradeRequest(s.url, { Origin: `http://${host}` })).status).toBe(101);
		expect((await upgradeRequest(s.url, { Origin: 'https://dashboard.example' })).status).toBe(101);
		expect((await upgradeRequest(s.url)).status).toBe(101);
		await expect(s.connect({ origin: 'https://evil.example' })).rejects.toThrow(/403/);
	});
});

describe('hub: connection limit', () => {
	let s: HubServer;
	beforeAll(async () => {
		s = await startHubServer({ maxConnections: 2 });
	});
	afterAll(() => s.stop());

	it('refuses an upgrade over the limit with 503 and Retry-After, counts it, and admits again when a slot frees', async () => {
		const first = await s.join();
		await s.join();

		const refused = await upgradeRequest(s.url);
		expect(refused.status).toBe(503);
		expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
		expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'over_capacity' } });
		await expect(s.connect()).rejects.toThrow(/503/);
		expect(s.hub.stats().connections).toMatchObject({ active: 2, rejected: 2, max: 2 });

		await first.close();
		await expect.poll(() => s.hub.stats().connections.active).toBe(1);
		const again = await s.join();
		expect(again.isOpen).toBe(true);
	});
});

describe('hub: slow consumers', () => {
	let s: HubServer;
	beforeAll(async () => {
		s = await startHubServer({ maxBufferedBytes: 256 * 1024, historyMaxBytes: 2 * 1024 * 1024 });
	});
	afterAll(() => s.stop());

	it('closes a client that stops reading with 4002 once history moves past it, and keeps serving the others', async () => {
		const slow = await s.join();
		const fast = await s.join();
		await slow.request({ type: 'subscribe', filter: {} });
		await fast.request({ type: 'subscribe', filter: {} });
		// stop reading: the kernel buffers fill, then ws starts queueing in bufferedAmount
		(slow.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
		const big = 'x'.repeat(16 * 1024);
		const numberOf = (m: ServerMessage) => parseInt((m as { data: { message: string } }).data.message, 10);
		let sent = 0;
		const deadline = Date.now() + 20_000;
		while (s.hub.stats().slow_consumer_closes === 0 && Date.now() < deadline) {
			// the flood goes at the pace of the reader that keeps up (a batch ahead of it at most), not a
			// clock's: on a loaded machine that reader is still never the one history moves past
			if (sent > 0) {
				const last = sent;
				await fast.next((m) => isEventEnvelope(m) && numberOf(m) === last, 20_000);
			}
			for (let i = 0; i < 8; i += 1) {
				sent += 1;
				const event = status('t-slow', null, 'running');
				s.bus.publish({ ...event, data: { ...event.data, message: `${sent}:${big}` } });
			}
		}
		expect(s.hub.stats().slow_consumer_closes).toBe(1);
		(slow.ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
		expect((await slow.waitForClose(5_000)).code).toBe(4002);

		// the reader that kept up got every event, in order
		const seen = await fast.next((m) => isEventEnvelope(m) && numberOf(m) === sent, 20_000);
		expect(seen).toBeTruthy();
		const lines = events(fast.messages).map(numberOf);
		expect(lines).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
	});
});

describe('hub: shutdown', () => {
	it('close(1001) closes every client with 1001, is idempotent, and refuses later upgrades with 503', async () => {
		const s = await startHubServer();
		try {
			const clients = await Promise.all([s.join(), s.join(), s.join()]);
			const first = s.hub.close(1001, 'server shutting down');
			const second = s.hub.close(1001);
			const closes = await Promise.all(clients.map((c) => c.waitForClose()));
			await first;
			await second;

			expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001]);
			expect(closes[0]!.reason).toBe('server shutting down');
			expect(s.hub.stats().connections.active).toBe(0);
			expect((await upgradeRequest(s.url)).status).toBe(503);
		} finally {
			await s.stop();
		}
	});
});
