/**
 * The hub under slow readers, floods and hostile input, against a real server and real `ws`
 * clients: the misbehaving client gets the documented close code or error, the others are
 * unaffected, and memory stays within the configured caps and returns to where it was.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyEventEnvelope, ControlMessage } from '../../src/lib/protocol/messages';
import { isEventEnvelope } from '../../src/lib/protocol/messages';
import { failed, output, sleep, startHubServer, turn, type HubServer } from '../helpers/hub-server';
import { upgradeRequest, type TestClient } from '../helpers/ws-client';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapUsed(): number {
	gc();
	gc();
	return process.memoryUsage().heapUsed;
}

let s: HubServer | undefined;
afterEach(async () => {
	await s?.stop();
	s = undefined;
});

/** the seq of the last event a client received (0 before any) */
function lastSeq(client: TestClient): number {
	for (let i = client.messages.length - 1; i >= 0; i -= 1) {
		const message = client.messages[i]!;
		if (isEventEnvelope(message)) return message.seq;
	}
	return 0;
}

function rawSocket(client: TestClient): Socket {
	return (client.ws as unknown as { _socket: Socket })._socket;
}

describe('hub: a client that stops reading', () => {
	it('keeps streaming to the others, holds nothing for it beyond its caps, and closes it with 4002 once history moves past it, never losing a failure silently', async () => {
		const cap = 256 * 1024;
		s = await startHubServer({ maxBufferedBytes: cap, queueMaxMessages: 50, historyMaxBytes: 1024 * 1024 });
		const slow = await s.join();
		const fast = await Promise.all([s.join(), s.join()]);
		for (const client of [slow, ...fast]) await client.request({ type: 'subscribe', filter: {} });
		rawSocket(slow).pause();
		// until the kernel's buffers for the slow one are full and history has moved past it
		const text = 'y'.repeat(8000);
		let published = 0;
		let maxQueued = 0;
		const deadline = Date.now() + 20_000;
		while (s.hub.stats().backpressure.slow_consumer_closes === 0 && Date.now() < deadline) {
			for (let i = 0; i < 10; i++) {
				published += 1;
				s.bus.publish(
					published % 100 === 0 ? failed(`t${published}`, null) : output('t1', null, published, text)
				);
			}
			maxQueued = Math.max(maxQueued, s.hub.stats().backpressure.queued_bytes);
			await turn();
			// the fast ones are healthy viewers: they read what they are sent, so the tool waits
			// for them to come within 40 events (history holds ~125), however loaded the machine
			while (fast.some((c) => lastSeq(c) < published - 40) && Date.now() < deadline) await turn();
		}
		expect(s.hub.stats().backpressure.slow_consumer_closes).toBe(1);
		for (const client of fast) await client.sync(20_000);
		// each client holds at most its live queue (50 events, shared frames), the slow one included
		expect(maxQueued).toBeLessThanOrEqual(3 * 51 * (text.length + 300));
		for (const client of fast) {
			expect(client.messages.filter(isEventEnvelope).map((e) => e.seq)).toEqual(
				Array.from({ length: published }, (_, i) => i + 1)
			);
		}

		// what the slow one got is an unbroken prefix; then 4002 tells it to resume (or reset)
		rawSocket(slow).resume();
		expect((await slow.waitForClose(10_000)).code).toBe(4002);
		const seqs = (slow.messages.filter(isEventEnvelope) as AnyEventEnvelope[]).map((e) => e.seq);
		expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
		expect(seqs.length).toBeLessThan(published);
	}, 60_000);
});

describe('hub: a flooding client', () => {
	it('is throttled with one error, then closed with 4003, while another client is served', async () => {
		s = await startHubServer({ rateLimitPerSecond: 20, rateLimitBurst: 10, rateLimitMaxViolations: 50 });
		const flooder = await s.join();
		const neighbour = await s.join();
		await neighbour.request({ type: 'subscribe', filter: {} });
		for (let i = 0; i < 200; i++) flooder.send({ type: 'connection.heartbeat' });
		const error = await flooder.nextOfType<ControlMessage<'error'>>('error');
		expect(error.data).toMatchObject({ code: 'rate_limited', retryable: true });
		expect((await flooder.waitForClose()).code).toBe(4003);
		expect(flooder.messages.filter((m) => m.type === 'error')).toHaveLength(1);

		s.bus.publish(failed('t1', null));
		await neighbour.sync();
		expect(neighbour.messages.filter(isEventEnvelope)).toHaveLength(1);
		const stats = s.hub.stats();
		expect(stats.rate_limit).toMatchObject({ violations: 51, closes: 1 });
	});
});

describe('hub: hostile input', () => {
	it('survives a 10 MB frame, malformed JSON, unknown types and 10k-deep JSON, and memory returns to baseline', async () => {
		s = await startHubServer({ maxInboundBytes: 64 * 1024 });
		const neighbour = await s.join();
		const baseline = heapUsed();

		const big = await s.join();
		big.sendRaw('x'.repeat(10 * 1024 * 1024));
		expect((await big.waitForClose(5_000)).code).toBe(1009);

		const client = await s.join();
		const replies: string[] = [];
		for (const frame of ['{"type":', '{"type":"explode"}', '['.repeat(10_000) + ']'.repeat(10_000)]) {
			client.sendRaw(frame);
			replies.push((await client.nextOfType<ControlMessage<'error'>>('error')).data.code);
		}
		const deep = '{"type":"subscribe","filter":{"types":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}}';
		client.sendRaw(deep);
		replies.push((await client.nextOfType<ControlMessage<'error'>>('error')).data.code);
		expect(replies).toEqual(['invalid_json', 'unknown_type', 'invalid_message', 'invalid_message']);
		await client.sync();
		await neighbour.sync();
		await client.close();

		// the server frees the closed client when its socket closes, a moment after the client's
		await expect.poll(() => s!.hub.stats().connections.active).toBe(1);
		await expect.poll(() => heapUsed() - baseline).toBeLessThan(8 * 1024 * 1024);
	});

	it('closes a deflate bomb with 1009: the inbound limit applies after inflating', async () => {
		s = await startHubServer({
			maxInboundBytes: 64 * 1024,
			compression: { level: 'fast', thresholdBytes: 0, concurrency: 2 }
		});
		const baseline = heapUsed();
		const bomb = await s.join({ perMessageDeflate: true });
		// 10 MiB of zeros deflate to about 10 KiB on the wire
		bomb.sendRaw(Buffer.alloc(10 * 1024 * 1024, '0'));
		const wire = rawSocket(bomb).bytesWritten;
		expect(wire).toBeLessThan(64 * 1024);
		expect((await bomb.waitForClose(5_000)).code).toBe(1009);
		const neighbour = await s.join({ perMessageDeflate: true });
		await neighbour.sync();
		await expect.poll(() => heapUsed() - baseline).toBeLessThan(8 * 1024 * 1024);
	});

	it('refuses connections beyond the per-address limit with 429 and counts them by reason', async () => {
		s = await startHubServer({ maxConnectionsPerIp: 2 });
		await s.join();
		await s.join();
		const refused = await upgradeRequest(s.url);
		expect(refused.status).toBe(429);
		expect(refused.headers['retry-after']).toBe('5');
		expect(JSON.parse(refused.body).error.code).toBe('too_many_connections_from_address');
		expect(s.hub.stats().connections.rejected_by_reason).toMatchObject({ per_ip: 1, capacity: 0 });
	});
});

describe('hub: timeouts free everything', () => {
	it('closes an idle client with 4000 and frees its subscriptions, queue and index entries', async () => {
		s = await startHubServer({ heartbeatIntervalMs: 40, idleTimeoutMs: 120 });
		const idle = await s.join();
		await idle.request({ type: 'subscribe', filter: {} });
		await idle.request({ type: 'subscribe', sub: 'b', filter: { task_ids: ['t1'] } });
		expect(s.hub.stats().subscriptions).toBe(2);
		expect((await idle.waitForClose(2_000)).code).toBe(4000);
		// freed when the server's side of the socket closes, a moment after the client saw the frame
		await expect.poll(() => s!.hub.stats().connections.active).toBe(0);
		const stats = s.hub.stats();
		expect(stats.subscriptions).toBe(0);
		expect(stats.backpressure.queued_bytes).toBe(0);
	});

	it('detects a half-open peer by ping and frees its resources', async () => {
		s = await startHubServer({ heartbeatIntervalMs: 40, idleTimeoutMs: 10_000 });
		const peer = await s.join();
		await peer.request({ type: 'subscribe', filter: {} });
		// the peer's socket stops reading: no pong and no close frame ever come back
		rawSocket(peer).pause();
		// 4001 after two unanswered ping rounds, then ws's close timeout (1 s) destroys the socket
		for (let i = 0; i < 60 && s.hub.stats().connections.active > 0; i++) await sleep(50);
		expect(s.hub.stats()).toMatchObject({ subscriptions: 0, connections: { active: 0 } });
		rawSocket(peer).resume();
	});
});

describe('hub: compression', () => {
	it('compresses frames above the threshold for a client that negotiated it and reports bytes before and after', async () => {
		s = await startHubServer({ compression: { level: 'best', thresholdBytes: 256, concurrency: 2 } });
		const client = await s.join({ perMessageDeflate: true });
		await client.request({ type: 'subscribe', filter: {} });
		for (let i = 1; i <= 200; i++) {
			s.bus.publish(output('t1', null, i, 'the same log line again '.repeat(10)));
			if (i % 20 === 0) await turn();
		}
		await client.sync();
		expect(client.messages.filter(isEventEnvelope)).toHaveLength(200);
		const { compression } = s.hub.stats();
		expect(compression).toMatchObject({ enabled: true, level: 'best', threshold_bytes: 256 });
		expect(compression.bytes_after).toBeLessThan(compression.bytes_before / 4);
	});
});
