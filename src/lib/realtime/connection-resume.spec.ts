/**
 * The connection's side of "no lost event": resume on reconnect, a replay that overlaps live
 * events applied once each and in order, reset and dropped making stores reload, and the
 * indicator's `resyncing` while they do.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnyEventEnvelope } from '$lib/protocol';
import type { ResyncInfo } from './connection.svelte';
import { connectionHarness } from './test-connection';
import { deferred } from './test-fixtures';

const data = { task_id: 't1', run_id: null, progress: 10, message: null };
const ev = (seq: number) => ({ type: 'task.progress', seq, timestamp: '', data }) as AnyEventEnvelope;
const batch = (...seqs: number[]) => ({ type: 'batch', events: seqs.map(ev) });

/** connected once, saw events up to seq 10, then lost the socket and is reconnecting */
function reconnecting(options: Parameters<typeof connectionHarness>[0] = {}) {
	const harness = connectionHarness(options);
	const seen: number[] = [];
	const reasons: string[] = [];
	harness.connection.onEvent((e) => seen.push(e.seq));
	harness.connection.onReconnected((reason) => void reasons.push(reason));
	harness.connection.connect();
	harness.accept({ epoch: 'e1', seq: 8 }).receive(batch(9, 10));
	harness.factory.last.serverClose(1006);
	vi.runOnlyPendingTimers();
	return { ...harness, seen, reasons };
}

describe('RealtimeConnection resume', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('unpacks batches in order and tracks the seq of events inside them', () => {
		const { connection, seen } = reconnecting();
		expect(seen).toEqual([9, 10]);
		expect(connection.seq).toBe(10);
		connection.destroy();
	});

	it('applies a replay that overlaps live events once each, in seq order', () => {
		const { connection, accept, seen, reasons } = reconnecting();
		const socket = accept({ epoch: 'e1', seq: 14 });
		expect(socket.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 10 });
		// live 14 overtakes the replay; the replay repeats 10 (already seen) and 14
		socket.event(ev(14));
		socket.receive(batch(10, 11, 12));
		socket.receive(batch(13, 14));
		expect(seen).toEqual([9, 10]);
		expect(connection.status).toBe('resyncing');
		socket.resumed(4);
		expect(seen).toEqual([9, 10, 11, 12, 13, 14]);
		socket.event(ev(15));
		socket.event(ev(14));
		expect(seen).toEqual([9, 10, 11, 12, 13, 14, 15]);
		expect(connection.seq).toBe(15);
		expect(reasons).toEqual([]);
		expect(connection.status).toBe('live');
		connection.destroy();
	});

	it('on reset applies what arrived meanwhile, asks stores to reload and reports the missed count once they have', async () => {
		const { connection, accept, seen, reasons } = reconnecting();
		const reload = deferred();
		connection.onReconnected(() => reload.promise);
		const resynced: ResyncInfo[] = [];
		connection.onResynced((info) => resynced.push(info));
		const socket = accept({ epoch: 'e2', seq: 3 });
		expect(socket.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 10 });
		socket.event(ev(4));
		socket.reset({ missed: 17, epoch: 'e2', seq: 4 });
		expect(seen).toEqual([9, 10, 4]);
		expect(reasons).toEqual(['reset']);
		expect(connection.status).toBe('resyncing');
		await vi.advanceTimersByTimeAsync(0);
		expect(resynced).toEqual([]);
		reload.resolve();
		await vi.advanceTimersByTimeAsync(0);
		expect(resynced).toEqual([{ reason: 'reset', missed: 17 }]);
		expect(connection.status).toBe('live');
		socket.event(ev(5));
		expect(seen).toEqual([9, 10, 4, 5]);
		connection.destroy();
	});

	it('forgets held events when the socket goes before the answer, and resumes from the same seq', () => {
		const { connection, accept, factory, seen, reasons } = reconnecting();
		const socket = accept({ epoch: 'e1', seq: 12 });
		socket.receive(batch(12));
		socket.serverClose(1006);
		expect(connection.status).toBe('reconnecting');
		vi.runOnlyPendingTimers();
		const next = accept({ epoch: 'e1', seq: 12 });
		expect(next.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 10 });
		next.receive(batch(11, 12));
		next.resumed(2);
		expect(seen).toEqual([9, 10, 11, 12]);
		expect(reasons).toEqual([]);
		expect(factory.sockets).toHaveLength(3);
		connection.destroy();
	});

	it('reloads instead when the hub does not answer the resume in time', () => {
		const { connection, accept, seen, reasons } = reconnecting({ resumeTimeoutMs: 2000 });
		const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
		const socket = accept({ epoch: 'e1', seq: 11 });
		socket.event(ev(11));
		vi.advanceTimersByTime(1999);
		expect(reasons).toEqual([]);
		vi.advanceTimersByTime(1);
		expect(reasons).toEqual(['reconnect']);
		expect(seen).toEqual([9, 10, 11]);
		errors.mockRestore();
		connection.destroy();
	});

	it('reloads at once when the hub answers the resume with an error', () => {
		const { connection, accept, reasons } = reconnecting();
		const socket = accept();
		const { id } = socket.sentOfType('resume')[0];
		socket.receive({
			type: 'error',
			timestamp: '',
			data: { code: 'bad', message: 'no', retryable: false, ref: 'something-else' }
		});
		expect(reasons).toEqual([]);
		socket.receive({
			type: 'error',
			timestamp: '',
			data: { code: 'bad', message: 'no', retryable: false, ref: id }
		});
		expect(reasons).toEqual(['reconnect']);
		connection.destroy();
	});

	it('asks stores to resync on a dropped notice, without a missed count', async () => {
		const harness = connectionHarness();
		const reasons: string[] = [];
		const resynced: ResyncInfo[] = [];
		harness.connection.onReconnected((reason) => void reasons.push(reason));
		harness.connection.onResynced((info) => resynced.push(info));
		harness.connection.connect();
		harness.accept().dropped(5, 20, 24);
		expect(reasons).toEqual(['dropped']);
		await vi.advanceTimersByTimeAsync(0);
		expect(resynced).toEqual([{ reason: 'dropped', missed: null }]);
		harness.connection.destroy();
	});

	it('is live after the first connect: the first load is not a resync', async () => {
		const harness = connectionHarness();
		harness.connection.onReconnected(() => new Promise(() => {}));
		harness.connection.subscribe('dash');
		harness.connection.connect();
		expect(harness.connection.status).toBe('connecting');
		harness.accept().receive({ type: 'subscribed', timestamp: '', data: { id: 'dash', filter: {} } });
		await vi.advanceTimersByTimeAsync(0);
		expect(harness.connection.status).toBe('live');
		harness.connection.destroy();
	});
});
