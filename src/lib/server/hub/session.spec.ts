import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from '../../../../tests/helpers/fake-ws';
import type { AnyDomainEvent } from '../../protocol/events';
import { createLogger } from '../logger';
import { createCounters } from './counters';
import type { Task } from '../../protocol/models';
import { Channels } from './channels';
import { FrameCache } from './frame-cache';
import { History } from './history';
import { HubError } from './hub-error';
import { Session, type SessionOptions, type SessionSocket } from './session';
import { payloadsOf } from './frames';
import { createEntry } from './stream';
import { WireBuffers } from './wire-buffers';
import { WriteTurns } from './write-turns';

function make(overrides: Partial<SessionOptions> & { historyMaxEvents?: number } = {}) {
	const socket = new FakeWebSocket();
	const counters = createCounters();
	const onMessage = vi.fn();
	const onClose = vi.fn();
	let now = 1_000;
	let head = 0;
	const history = new History({
		maxEvents: overrides.historyMaxEvents ?? 100_000,
		maxBytes: 1e9,
		maxAgeMs: 0
	});
	const session = new Session({
		id: 'c1',
		socket: socket as unknown as SessionSocket,
		counters,
		logger: createLogger('silent'),
		onMessage,
		onClose,
		now: () => now,
		history,
		position: () => head,
		...overrides
	});
	/** numbers the event, keeps it in history and hands it to the session, as the broadcaster does */
	const publish = (event: AnyDomainEvent, wanted = true) => {
		const entry = createEntry(++head, event);
		history.append(entry);
		if (wanted) session.deliver(entry);
		return entry.seq;
	};
	/** the same, through the channels (the hub's way) */
	const broadcast = (channels: Channels<Session>, event: AnyDomainEvent) => {
		const entry = createEntry(++head, event);
		history.append(entry);
		channels.publish(entry, event);
	};
	return {
		session,
		socket,
		counters,
		onMessage,
		onClose,
		publish,
		broadcast,
		advance: (ms: number) => (now += ms)
	};
}

const progress = (taskId: string): AnyDomainEvent => ({
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: taskId, run_id: null, progress: 1, message: null }
});

describe('Session', () => {
	it('sends text frames and counts them, including Buffers', () => {
		const { session, socket, counters } = make();
		expect(session.send('{"a":"é"}')).toBe(true);
		expect(session.send(Buffer.from('{}'))).toBe(true);
		expect(socket.sent.map((f) => f.binary)).toEqual([false, false]);
		expect(counters.messagesSent).toBe(2);
		expect(counters.bytesSent).toBe(Buffer.byteLength('{"a":"é"}') + 2);
	});

	it('sends nothing once closing, and nothing when the socket is no longer open', () => {
		const { session, socket } = make();
		socket.readyState = 2;
		expect(session.send('x')).toBe(false);
		socket.readyState = 1;
		session.close(1000);
		expect(session.send('x')).toBe(false);
		expect(socket.sent).toHaveLength(0);
	});

	it('closes once, however often close is called, and frees its subscriptions', () => {
		const { session, socket, onClose } = make();
		session.subscribe('s', {});
		session.close(4000, 'idle');
		session.close(1001, 'again');
		expect(socket.closeCalls).toEqual([{ code: 4000, reason: 'idle' }]);
		expect(session.state).toBe('closing');
		expect(session.subscriptions.size).toBe(0);
		socket.finishClose();
		socket.finishClose();
		expect(onClose).toHaveBeenCalledTimes(1);
		expect(onClose).toHaveBeenCalledWith(session, 4000, 'idle');
		expect(session.state).toBe('closed');
	});

	it('resolves closed when the socket has closed', async () => {
		const { session, socket } = make();
		let done = false;
		void session.closed.then(() => (done = true));
		await Promise.resolve();
		expect(done).toBe(false);
		socket.terminate();
		await session.closed;
		expect(done).toBe(true);
	});

	it('resolves closed when asked only after the socket has closed, or while it is closing', async () => {
		const closedFirst = make();
		closedFirst.socket.terminate();
		await expect(closedFirst.session.closed).resolves.toBeUndefined();
		const closing = make();
		closing.session.close(4000, 'idle');
		const closed = closing.session.closed;
		let done = false;
		void closed.then(() => (done = true));
		await Promise.resolve();
		expect(done).toBe(false);
		closing.socket.finishClose(4000, 'idle');
		await closed;
		expect(done).toBe(true);
	});

	it('cuts a close reason to the 123 bytes a close frame can carry, on a character boundary', () => {
		const { session, socket } = make();
		session.close(4000, 'é'.repeat(100));
		const reason = socket.closeCalls[0]!.reason!;
		expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
		expect(reason).toBe('é'.repeat(61));
	});

	it('terminates the socket when ws refuses the close code', () => {
		const { session, socket } = make();
		socket.close = () => {
			throw new TypeError('invalid code');
		};
		session.close(1005);
		expect(socket.terminated).toBe(true);
	});

	it('survives a socket error and counts it', () => {
		const { socket, counters } = make();
		expect(() => socket.emit('error', new Error('ECONNRESET'))).not.toThrow();
		expect(counters.errors).toBe(1);
	});

	it('marks the time of every inbound frame and counts it before handing it on', () => {
		const { session, socket, counters, onMessage, advance } = make();
		advance(500);
		socket.receive('{"type":"connection.heartbeat"}');
		expect(session.lastSeenAt).toBe(1_500);
		expect(counters.messagesReceived).toBe(1);
		expect(counters.bytesReceived).toBe(31);
		expect(onMessage).toHaveBeenCalledWith(session, expect.any(Buffer), false);
	});

	it('awaits a pong after a ping, and a pong does not count as activity', () => {
		const { session, socket, advance } = make();
		session.ping();
		expect(socket.pings).toBe(1);
		expect(session.awaitingPong).toBe(true);
		advance(100);
		socket.pong();
		expect(session.awaitingPong).toBe(false);
		expect(session.lastSeenAt).toBe(1_000);
	});

	it('holds at most the configured subscriptions but lets one be replaced at the limit', () => {
		const { session } = make({ maxSubscriptions: 2 });
		session.subscribe('a', {});
		session.subscribe('b', {});
		expect(() => session.subscribe('c', {})).toThrow(HubError);
		session.subscribe('a', { task_ids: ['t'] });
		expect(session.subscriptions.get('a')).toEqual({ task_ids: ['t'] });
	});

	it('removes one subscription or all, and reports an unknown one', () => {
		const { session } = make();
		session.subscribe('a', {});
		session.subscribe('b', {});
		expect(session.unsubscribe('a')).toEqual(['a']);
		expect(() => session.unsubscribe('a')).toThrow(/no subscription "a"/);
		expect(session.unsubscribe()).toEqual(['b']);
		expect(session.subscriptions.size).toBe(0);
	});

	it('wants an event when any subscription matches and none without subscriptions', () => {
		const { session } = make();
		expect(session.wants(progress('t1'))).toBe(false);
		session.subscribe('a', { task_ids: ['t2'] });
		expect(session.wants(progress('t1'))).toBe(false);
		session.subscribe('b', { task_ids: ['t1'] });
		expect(session.wants(progress('t1'))).toBe(true);
	});

	it('writes the events of one tick as one batch frame, at once, and at most batchMaxEvents per frame', async () => {
		const { session, socket, counters, publish } = make({ batchMaxEvents: 3 });
		session.subscribe('a', {});
		session.endResumeWindow();
		for (let i = 1; i <= 4; i++) publish(progress(`t${i}`));
		expect(socket.sent).toHaveLength(0);
		await flushed();
		expect(seqsOf(socket)).toEqual([[1, 2, 3], 4]);
		expect([counters.eventsDelivered, counters.batchesSent, counters.messagesSent]).toEqual([4, 1, 2]);
	});

	it('holds events while the socket is backed up and writes them once it drains', async () => {
		const { session, socket, publish } = make({ batchFlushMs: 5, writeHighWaterBytes: 100 });
		session.subscribe('a', {});
		session.endResumeWindow();
		socket.bufferedAmount = 1000;
		publish(progress('t1'));
		await flushed();
		expect(socket.sent).toHaveLength(0);
		socket.bufferedAmount = 0;
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(seqsOf(socket)).toEqual([1]);
	});

	it('writes again on the socket drain, before its retry timer, and stops listening for it once closed', async () => {
		const raw = Object.assign(new EventEmitter(), { bytesWritten: 0 });
		// a retry timer this long cannot be what resumes the writes below
		const { session, socket, publish } = make({
			batchFlushMs: 60_000,
			writeHighWaterBytes: 100,
			rawSocket: raw
		});
		session.subscribe('a', {});
		session.endResumeWindow();
		publish(progress('t1'));
		await flushed();
		expect(seqsOf(socket)).toEqual([1]);
		socket.bufferedAmount = 1000;
		publish(progress('t2'));
		await flushed();
		expect(seqsOf(socket)).toEqual([1]);
		socket.bufferedAmount = 0;
		raw.emit('drain');
		await flushed();
		expect(seqsOf(socket)).toEqual([1, 2]);
		session.close(4000, 'idle');
		socket.finishClose(4000, 'idle');
		expect(raw.listenerCount('drain')).toBe(0);
	});

	it('reads what passes its live queue from history, so a burst reaches it whole and in order', async () => {
		const { session, socket, counters, publish } = make({ queueMaxMessages: 5, batchMaxEvents: 10 });
		session.subscribe('a', {});
		session.endResumeWindow();
		for (let line = 1; line <= 1000; line++) publish(output(line));
		expect(session.queueSlots).toBeLessThanOrEqual(5);
		expect(session.behind).toBe(true);
		await flushed();
		expect(seqsOf(socket).flat()).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
		expect(session.behind).toBe(false);
		expect([counters.eventsDropped, counters.eventsCoalesced]).toEqual([0, 0]);
		publish(output(1001));
		await flushed();
		expect(seqsOf(socket).flat().at(-1)).toBe(1001);
	});

	it('costs the same per event however long a client has not read: its queue never holds more than its caps', () => {
		const { session, socket, publish } = make({ queueMaxMessages: 100, writeHighWaterBytes: 100 });
		session.subscribe('a', {});
		session.endResumeWindow();
		// the client stopped reading: its socket holds unsent bytes (below the 4 MiB byte cap)
		socket.bufferedAmount = 1_000_000;
		let largest = 0;
		for (let seq = 1; seq <= 60_000; seq++) {
			publish(seq % 10 === 0 ? progress(`t${seq % 7}`) : output(seq));
			largest = Math.max(largest, session.queueSlots);
		}
		// what the queue holds is bounded by the caps, not by how many events went by
		expect(largest).toBeLessThanOrEqual(100 + 1);
		expect(session.state).toBe('open');
	});

	it('coalesces progress for a client behind the stream, and sheds low events with one notice near the end of history, keeping failures', async () => {
		const { session, socket, counters, publish } = make({
			historyMaxEvents: 40,
			queueMaxMessages: 2,
			writeHighWaterBytes: 100
		});
		session.subscribe('a', {});
		session.endResumeWindow();
		for (let line = 1; line <= 5; line++) publish(output(line));
		await flushed();
		socket.bufferedAmount = 1000;
		// 45 more: history (40) now starts at seq 11, and the client is at 5 + nothing read
		// ... so give it the oldest quarter: it read up to 10 before stopping
		for (let line = 6; line <= 10; line++) publish(output(line));
		socket.bufferedAmount = 0;
		await flushed();
		socket.bufferedAmount = 1000;
		for (let seq = 11; seq <= 48; seq++) {
			if (seq === 20) publish(failed());
			else if (seq % 3 === 0) publish(progress('t1'));
			else publish(output(seq));
		}
		expect(session.state).toBe('open');
		socket.bufferedAmount = 0;
		socket.emit('drain');
		await new Promise((resolve) => setTimeout(resolve, 20));
		const frames = socket.json<{
			type: string;
			seq?: number;
			data?: unknown;
			events?: { seq: number; type: string }[];
		}>();
		const dropped = frames.filter((f) => f.type === 'dropped');
		expect(dropped).toHaveLength(1);
		const got = frames.flatMap((f) => f.events ?? (f.seq ? [{ seq: f.seq, type: f.type }] : []));
		expect(got.filter((e) => e.type === 'task.failed').map((e) => e.seq)).toEqual([20]);
		// the latest progress value arrived; nothing was both dropped and delivered
		expect(got.filter((e) => e.type === 'task.progress').at(-1)?.seq).toBe(48);
		const seqs = got.map((e) => e.seq);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		expect(counters.eventsDropped).toBe((dropped[0]!.data as { count: number }).count);
		expect(counters.eventsCoalesced).toBeGreaterThan(0);
	});

	it('says when it reads from the older half of a history that has let events go, and not before', async () => {
		const onFarBehind = vi.fn();
		const { session, socket, publish } = make({
			historyMaxEvents: 40,
			queueMaxMessages: 2,
			writeHighWaterBytes: 100,
			onFarBehind
		});
		session.subscribe('a', {});
		session.endResumeWindow();
		const received = () =>
			socket
				.json<{ events?: { seq: number }[]; seq?: number }>()
				.flatMap((f): { seq: number }[] => f.events ?? (f.seq ? [{ seq: f.seq }] : []));
		// a burst past its live queue: read from history, which holds every event so far
		for (let line = 1; line <= 25; line++) publish(output(line));
		await vi.waitFor(() => expect(received().at(-1)?.seq).toBe(25));
		expect(onFarBehind).not.toHaveBeenCalled();
		// stopped at 25 while 25 more came: history keeps 11-50, and 25 is in its older half (not
		// yet the oldest quarter, which sheds output)
		socket.bufferedAmount = 1000;
		for (let line = 26; line <= 50; line++) publish(output(line));
		socket.bufferedAmount = 0;
		socket.emit('drain');
		await vi.waitFor(() => expect(received().at(-1)?.seq).toBe(50));
		expect(onFarBehind).toHaveBeenCalled();
		expect(received().map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
	});

	it('closes with 4002 a client that history moved past while it did not read', async () => {
		const { session, socket, counters, publish } = make({
			historyMaxEvents: 10,
			queueMaxMessages: 2,
			writeHighWaterBytes: 100
		});
		session.subscribe('a', {});
		session.endResumeWindow();
		socket.bufferedAmount = 1000;
		for (let seq = 1; seq <= 30 && session.state === 'open'; seq++) publish(output(seq));
		expect(socket.closeCalls).toEqual([{ code: 4002, reason: expect.stringContaining('resume') }]);
		expect(counters.slowConsumerCloses).toBe(1);
	});

	it('replays the missed events of its subscriptions from history ahead of newer ones, then says resumed', async () => {
		const { session, socket, publish } = make({ batchMaxEvents: 2 });
		for (let i = 1; i <= 6; i++) publish(progress(i % 2 ? 't1' : 't2'), false);
		session.subscribe('a', { task_ids: ['t1'] });
		publish(progress('t1')); // 7: reached it live, held in the resume window
		session.resume(2, (outcome) => JSON.stringify({ type: 'answer', outcome }));
		session.endResumeWindow();
		publish(progress('t1')); // 8: after the resume
		await flushed();
		const frames = socket.json<{
			type: string;
			seq?: number;
			events?: { seq: number }[];
			outcome?: unknown;
		}>();
		// 7 was published before the resume: the client never got it, so it is part of the replay
		expect(frames.map((f) => f.events?.map((e) => e.seq) ?? f.seq ?? f.type)).toEqual([
			[3, 5],
			7,
			'answer',
			8
		]);
		expect(frames[2]!.outcome).toEqual({ kind: 'resumed', replayed: 3 });
	});

	it('writes a replay in reused buffers, each taken again only once the socket is done with its bytes', async () => {
		// a socket that finishes each write two writes later: some are still out when the next is built
		const writes: { chunk: Buffer; copy: Buffer; done?: () => void }[] = [];
		/** whether each write's bytes were still as written when the socket finished with them */
		const intact: boolean[] = [];
		const finish = (w: (typeof writes)[number]) => {
			intact.push(w.chunk.equals(w.copy));
			w.done?.();
		};
		const raw = Object.assign(new EventEmitter(), {
			bytesWritten: 0,
			write(chunk: Buffer, done?: () => void) {
				writes.push({ chunk, copy: Buffer.from(chunk), done });
				const finished = writes[writes.length - 3];
				if (finished) finish(finished);
				return true;
			}
		});
		const { session, publish } = make({
			batchMaxEvents: 2,
			rawSocket: raw,
			wireBuffers: new WireBuffers(16 * 1024, 4)
		});
		for (let line = 1; line <= 400; line++) publish(output(line), false);
		session.subscribe('a', {});
		session.resume(0, (outcome) => JSON.stringify({ type: 'answer', outcome }));
		session.endResumeWindow();
		const text = () => writes.flatMap((w) => payloadsOf(w.copy).map((p) => p.toString()));
		await vi.waitFor(() => expect(text().at(-1)).toContain('answer'));
		for (const w of writes.slice(-2)) finish(w);
		expect(intact).toHaveLength(writes.length);
		expect(intact.every(Boolean)).toBe(true);
		const seqs = text()
			.map((t) => JSON.parse(t) as { seq?: number; events?: { seq: number }[] })
			.flatMap((f) => f.events?.map((e) => e.seq) ?? (f.seq === undefined ? [] : [f.seq]));
		expect(seqs).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
		// the replay's runs shared a handful of buffers
		const runs = writes.filter((w) => w.done);
		expect(runs.length).toBeGreaterThan(6);
		expect(new Set(runs.map((w) => w.chunk.buffer)).size).toBeLessThanOrEqual(3);
	});

	it('holds live events from the first subscription until the resume window ends, then refuses an overtaken replay', async () => {
		const { session, socket, publish } = make();
		for (let i = 0; i < 5; i++) publish(progress('t1'), false);
		session.subscribe('a', {});
		publish(progress('t1'));
		await flushed();
		expect(socket.sent).toHaveLength(0);
		session.endResumeWindow();
		await flushed();
		expect(seqsOf(socket)).toEqual([6]);
		// 3…5 would now arrive after 6: only a reset is honest
		session.resume(2, (outcome) => JSON.stringify(outcome));
		expect(socket.json().at(-1)).toEqual({ kind: 'overtaken' });
		// but everything after 5 went out on this connection: nothing to replay
		session.resume(5, (outcome) => JSON.stringify(outcome));
		expect(socket.json().at(-1)).toEqual({ kind: 'resumed', replayed: 0 });
	});

	it('does not take its live stream for events a subscription added after it went live never got', async () => {
		const { session, socket, publish } = make();
		for (let i = 0; i < 2; i++) publish(progress('t1'), false);
		session.subscribe('a', { task_ids: ['a'] });
		session.endResumeWindow();
		publish(progress('a')); // 3: live
		publish(progress('b'), false); // 4: nobody here wants it yet
		await flushed();
		expect(seqsOf(socket)).toEqual([3]);
		session.subscribe('b', { task_ids: ['b'] });
		// the client had 2 when it reconnected: 4 is missing, so "nothing to replay" would lose it
		session.resume(2, (outcome) => JSON.stringify(outcome));
		expect(socket.json().at(-1)).toEqual({ kind: 'overtaken' });
		// from 4 on, both went out live; subscribing again to the same filter changes nothing
		publish(progress('b')); // 5: live
		await flushed();
		session.subscribe('b', { task_ids: ['b'] });
		session.resume(4, (outcome) => JSON.stringify(outcome));
		expect(socket.json().at(-1)).toEqual({ kind: 'resumed', replayed: 0 });
	});

	it('refuses subscriptions that would list more than the client may hold together, counting a replaced one once', () => {
		const { session } = make();
		const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
		session.subscribe('a', { task_ids: ids('t', 1000) });
		session.subscribe('b', { run_ids: ids('r', 999), types: ['task.*'] });
		expect(() => session.subscribe('c', { statuses: ['failed'] })).toThrow(
			expect.objectContaining({ code: 'too_many_filter_ids' })
		);
		// the same id again replaces its filter: only the difference counts
		session.subscribe('a', { task_ids: ids('t', 999) });
		session.subscribe('c', { statuses: ['failed'] });
		session.unsubscribe('b');
		session.subscribe('d', { run_ids: ids('r', 1000) });
		session.unsubscribe();
		session.subscribe('e', { task_ids: ids('t', 1000), run_ids: ids('r', 1000) });
	});

	it('charges a large subscription more of the rate limit: the messages after it wait', () => {
		const { session, socket, onMessage } = make({
			rateLimit: { perSecond: 1, burst: 30, maxViolations: 100 }
		});
		session.subscribe('a', { task_ids: Array.from({ length: 1000 }, (_, i) => `t${i}`) });
		for (let i = 0; i < 25; i++) socket.receive('{"type":"connection.heartbeat"}');
		// 30 tokens, 10 of them for the 1,000 ids
		expect(onMessage).toHaveBeenCalledTimes(20);
	});

	it('throttles a flooding client with one error, then closes it with 4003', () => {
		const { session, socket, onMessage, counters } = make({
			rateLimit: { perSecond: 1, burst: 2, maxViolations: 3 }
		});
		for (let i = 0; i < 6; i++) socket.receive('{"type":"connection.heartbeat"}');
		expect(onMessage).toHaveBeenCalledTimes(2);
		expect(socket.json().filter((f) => f.type === 'error')).toHaveLength(1);
		expect(counters.rateLimitViolations).toBe(4);
		expect(socket.closeCalls.map((c) => c.code)).toEqual([4003]);
		expect(session.state).toBe('closing');
	});

	/** channels whose slice of writing is spent at once: the first member takes it */
	function spentSliceChannels() {
		return new Channels<Session>({
			frames: new FrameCache(),
			batchMaxEvents: 10,
			runBytes: 65536,
			sliceMs: 0
		});
	}

	it('writes nothing of a tick whose slice of writing is spent, and reads those events from history in its turn, all of them, in order', async () => {
		const channels = spentSliceChannels();
		const { session, socket, counters, broadcast } = make({ channels, turns: new WriteTurns() });
		// a member ahead of it in the channel spends the slice
		const ahead = { offer: vi.fn() };
		channels.update(ahead as unknown as Session, new Map([['s', {}]]));
		session.subscribe('a', {});
		session.endResumeWindow();
		// progress too: a client that is not behind on its own gets every one, none coalesced
		for (let line = 1; line <= 50; line++) broadcast(channels, line % 2 ? progress('t1') : output(line));
		await Promise.resolve();
		expect(ahead.offer).toHaveBeenCalledWith(expect.anything(), true);
		expect(socket.sent).toHaveLength(0);
		expect(session.behind).toBe(true);
		await vi.waitFor(() => expect(session.behind).toBe(false));
		expect(seqsOf(socket).flat()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
		broadcast(channels, output(51));
		await vi.waitFor(() => expect(seqsOf(socket).flat().at(-1)).toBe(51));
		expect(seqsOf(socket).flat()).toHaveLength(51);
		expect([counters.eventsDropped, counters.eventsCoalesced]).toEqual([0, 0]);
	});

	it('queues the events of a spent slice when history keeps none, rather than closing a healthy client', async () => {
		const channels = spentSliceChannels();
		const { session, socket, counters, broadcast } = make({
			channels,
			turns: new WriteTurns(),
			historyMaxEvents: 0
		});
		const ahead = { offer: vi.fn() };
		channels.update(ahead as unknown as Session, new Map([['s', {}]]));
		session.subscribe('a', {});
		session.endResumeWindow();
		for (let line = 1; line <= 5; line++) broadcast(channels, output(line));
		await vi.waitFor(() => expect(seqsOf(socket).flat()).toEqual([1, 2, 3, 4, 5]));
		expect(session.state).toBe('open');
		expect([socket.closeCalls, counters.slowConsumerCloses]).toEqual([[], 0]);
	});

	/** a session behind a member that spends the tick's slice, its socket stalled until `drain` */
	function stalledBehindSlice(queueMaxMessages: number) {
		const channels = spentSliceChannels();
		const raw = Object.assign(new EventEmitter(), { bytesWritten: 0 });
		const made = make({
			channels,
			turns: new WriteTurns(),
			queueMaxMessages,
			writeHighWaterBytes: 100,
			rawSocket: raw
		});
		const ahead = { offer: vi.fn() };
		channels.update(ahead as unknown as Session, new Map([['s', {}]]));
		// its socket holds unsent bytes when its turn comes: it waits for drain
		made.socket.bufferedAmount = 1000;
		const drain = async () => {
			await vi.waitFor(() => expect(raw.listenerCount('drain')).toBe(1));
			made.socket.bufferedAmount = 0;
			raw.emit('drain');
			await vi.waitFor(() => expect(made.session.behind).toBe(false));
		};
		return { ...made, channels, drain };
	}

	it.each([
		['every event', 0],
		['one task of a busy stream (5 other events after each of its own)', 5]
	])(
		'loses nothing to a brief stall of its socket while it reads a spent slice from history: %s',
		async (_, others) => {
			const { session, socket, counters, broadcast, channels, drain } = stalledBehindSlice(100);
			session.subscribe('a', others ? { task_ids: ['t1'] } : {});
			session.endResumeWindow();
			const mine: number[] = [];
			let seq = 0;
			for (let line = 1; line <= 50; line++) {
				broadcast(channels, line % 2 ? progress('t1') : output(line));
				mine.push(++seq);
				for (let k = 0; k < others; k++, seq++) broadcast(channels, progress('t2'));
			}
			await drain();
			// all 50 of its own, progress included, though the stream moved 300 events past it
			expect(seqsOf(socket).flat()).toEqual(mine);
			expect([counters.eventsDropped, counters.eventsCoalesced]).toEqual([0, 0]);
		}
	);

	it('coalesces progress for a reader of a spent slice once it owes more than its queue may hold', async () => {
		const { session, socket, counters, broadcast, channels, drain } = stalledBehindSlice(10);
		session.subscribe('a', {});
		session.endResumeWindow();
		for (let line = 1; line <= 50; line++) broadcast(channels, line % 2 ? progress('t1') : output(line));
		await drain();
		const seqs = seqsOf(socket).flat();
		expect(counters.eventsCoalesced).toBeGreaterThan(0);
		// every output line and the latest progress arrived, in order
		expect(seqs.filter((seq) => seq % 2 === 0)).toEqual(Array.from({ length: 25 }, (_, i) => 2 * (i + 1)));
		expect(seqs).toContain(49);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
	});

	it('lets a progress update its rate held go before newer events once the rate is dropped', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		try {
			const channels = new Channels<Session>({
				frames: new FrameCache(),
				batchMaxEvents: 10,
				runBytes: 65536
			});
			const { session, socket, broadcast } = make({ channels });
			session.subscribe('a', {}, { maxRate: 1 });
			session.endResumeWindow();
			broadcast(channels, progress('t1'));
			await flushed();
			broadcast(channels, progress('t1'));
			await flushed();
			expect(seqsOf(socket).flat()).toEqual([1]);
			// the same sub again, without a rate: its events no longer go through the gate
			session.subscribe('a', {});
			broadcast(channels, output(3));
			await flushed();
			vi.advanceTimersByTime(1_000);
			await flushed();
			expect(seqsOf(socket).flat()).toEqual([1, 2, 3]);
		} finally {
			vi.useRealTimers();
		}
	});

	it('frees its queue, timer and channel membership when it closes', async () => {
		const channels = new Channels<Session>({ frames: new FrameCache(), batchMaxEvents: 10, runBytes: 65536 });
		const { session, socket, publish } = make({ channels, batchFlushMs: 10_000, writeHighWaterBytes: 1 });
		session.subscribe('a', {});
		socket.bufferedAmount = 10;
		publish(progress('t1'));
		await flushed();
		expect(session.queueDepth).toBe(1);
		socket.finishClose(1006, '');
		expect([session.queueDepth, channels.subscriptions, channels.size, session.subscriptionCount]).toEqual([
			0, 0, 0, 0
		]);
	});
});

const flushed = () => new Promise((resolve) => setImmediate(resolve));

/** per frame: the seqs of a batch, the seq of an event, or the type of a control frame */
function seqsOf(socket: FakeWebSocket): (number | number[])[] {
	return socket
		.json<{ type: string; seq?: number; events?: { seq: number }[] }>()
		.filter((f) => f.events || f.seq !== undefined)
		.map((f) => f.events?.map((e) => e.seq) ?? f.seq!);
}

function output(line: number): AnyDomainEvent {
	return {
		type: 'tool.lines',
		timestamp: '2024-01-01T00:00:00.000Z',
		data: {
			task_id: 't1',
			run_id: null,
			execution_id: 'x1',
			lines: [{ line, output: 'x', is_stderr: false, timestamp: '2024-01-01T00:00:00.000Z' }]
		}
	};
}

function failed(): AnyDomainEvent {
	return {
		type: 'task.failed',
		timestamp: '2024-01-01T00:00:00.000Z',
		data: { task_id: 't1', run_id: null, status: 'failed', error: 'x', duration_ms: 1, task: {} as Task }
	};
}
