import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import type { EventFilter } from '../../protocol/messages';
import { channelKey, Channels, type ChannelMember, type SharedRun } from './channels';
import { FrameCache } from './frame-cache';
import { createEntry } from './stream';

const output = (taskId: string, line: number, bytes = 100): AnyDomainEvent => ({
	type: 'tool.lines',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: {
		task_id: taskId,
		run_id: null,
		execution_id: 'x',
		lines: [{ line, output: 'y'.repeat(bytes), is_stderr: false, timestamp: '2024-01-01T00:00:00.000Z' }]
	}
});

class Member implements ChannelMember {
	offers: (readonly SharedRun[])[] = [];
	/** whether each offer let the member write at once */
	now: boolean[] = [];
	onOffer = () => {};
	offer(runs: readonly SharedRun[], now: boolean): void {
		this.offers.push(runs);
		this.now.push(now);
		this.onOffer();
	}
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function make(runBytes = 65536) {
	return new Channels<Member>({ frames: new FrameCache(), batchMaxEvents: 10, runBytes });
}

describe('Channels', () => {
	it('gives one subscription the key of the same filter held twice, and empty lists the key of no filter', () => {
		const one = (filter: EventFilter) => channelKey(new Map([['s', filter]]));
		expect(one({ task_ids: ['t2', 't1'] })).toBe(
			channelKey(
				new Map([
					['a', { task_ids: ['t1', 't2'] }],
					['b', { task_ids: ['t2', 't1'] }]
				])
			)
		);
		expect(one({})).toBe(
			channelKey(
				new Map([
					['a', { types: [] }],
					['b', {}]
				])
			)
		);
		expect(one({ task_ids: [], run_ids: [], types: [], statuses: [] })).toBe(one({}));
		expect(one({ types: ['task.*'] })).not.toBe(one({}));
		expect(one({ statuses: ['failed'] })).not.toBe(one({ statuses: ['running'] }));
	});

	it('files clients with the same filters in one channel, whatever their ids and order', () => {
		expect(
			channelKey(
				new Map([
					['a', { task_ids: ['t2', 't1'] }],
					['b', {}]
				])
			)
		).toBe(
			channelKey(
				new Map([
					['x', {}],
					['y', { task_ids: ['t1', 't2'] }],
					['z', {}]
				])
			)
		);
		const channels = make();
		const [a, b, c] = [new Member(), new Member(), new Member()];
		channels.update(a, new Map([['s', { task_ids: ['t1'] }]]));
		channels.update(b, new Map([['other-id', { task_ids: ['t1'] }]]));
		channels.update(c, new Map([['s', {}]]));
		expect([channels.size, channels.subscriptions]).toEqual([2, 3]);
		channels.update(c, new Map());
		channels.leave(a);
		expect([channels.size, channels.subscriptions]).toEqual([1, 1]);
	});

	it('offers the events of a tick once, as runs whose frames every member of the channel shares', async () => {
		const channels = make();
		const [a, b, none] = [new Member(), new Member(), new Member()];
		for (const m of [a, b]) channels.update(m, new Map([['s', { task_ids: ['t1'] }]]));
		channels.update(none, new Map([['s', { task_ids: ['t9'] }]]));
		for (let seq = 1; seq <= 3; seq++) {
			expect(
				channels.publish(createEntry(seq, output(seq === 2 ? 't2' : 't1', seq)), output('t1', seq))
			).toBe(2);
		}
		expect(a.offers).toEqual([]);
		await tick();
		expect([a.offers.length, b.offers.length, none.offers.length]).toEqual([1, 1, 0]);
		expect(a.offers[0]).toBe(b.offers[0]);
		const [run] = a.offers[0]!;
		expect(run!.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
		expect(run!.wire(false)).toBe(run!.wire(false));
	});

	it('cuts a burst into runs of about a socket high-water mark of bytes, each ending where a batch frame ends', async () => {
		const channels = make(3000);
		const member = new Member();
		channels.update(member, new Map([['s', {}]]));
		for (let seq = 1; seq <= 55; seq++)
			channels.publish(createEntry(seq, output('t1', seq)), output('t1', seq));
		await tick();
		const runs = member.offers[0]!;
		expect(runs.length).toBeGreaterThan(1);
		expect(runs.flatMap((r) => r.entries.map((e) => e.seq))).toEqual(
			Array.from({ length: 55 }, (_, i) => i + 1)
		);
		const eventBytes = runs[0]!.entries[0]!.frame.length;
		for (const run of runs) expect(run.size).toBeLessThan(3000 + 10 * (eventBytes + 1));
		// a reader behind the stream takes whole batches (seq multiples of 10) and shares these frames
		for (const run of runs.slice(0, -1)) expect(run.entries.at(-1)!.seq % 10).toBe(0);
		expect(runs.at(-1)!.entries.at(-1)!.seq).toBe(55);
	});

	it('keeps a run of big events within about two high-water marks, batch edge or not', async () => {
		const channels = make(3000);
		const member = new Member();
		channels.update(member, new Map([['s', {}]]));
		for (let seq = 1; seq <= 30; seq++)
			channels.publish(createEntry(seq, output('t1', seq, 2000)), output('t1', seq, 2000));
		await tick();
		const runs = member.offers[0]!;
		expect(runs.flatMap((r) => r.entries.map((e) => e.seq))).toEqual(
			Array.from({ length: 30 }, (_, i) => i + 1)
		);
		const eventBytes = runs[0]!.entries[0]!.frame.length;
		for (const run of runs) expect(run.size).toBeLessThanOrEqual(2 * 3000 + eventBytes + 1);
	});

	it('lets the members it reaches within the slice write at once and the others take the runs in their turn', async () => {
		let clock = 0;
		const channels = new Channels<Member>({
			frames: new FrameCache(),
			batchMaxEvents: 10,
			runBytes: 65536,
			sliceMs: 5,
			now: () => clock
		});
		const members = [new Member(), new Member(), new Member(), new Member()];
		for (const m of members) channels.update(m, new Map([['s', {}]]));
		// each member's writing takes 3 ms: the slice is spent after the second
		for (const m of members) m.onOffer = () => (clock += 3);
		channels.publish(createEntry(1, output('t1', 1)), output('t1', 1));
		await tick();
		expect(members.map((m) => m.now)).toEqual([[true], [true], [false], [false]]);
		// every member got the same runs either way
		expect(new Set(members.map((m) => m.offers[0]))).toHaveProperty('size', 1);
		// the next tick has a slice of its own
		channels.publish(createEntry(2, output('t1', 2)), output('t1', 2));
		await tick();
		expect(members.map((m) => m.now[1])).toEqual([true, true, false, false]);
	});

	it('hands a member what waited in its old channel before it moves, and nothing from before it joined', async () => {
		const channels = make();
		const a = new Member();
		const b = new Member();
		channels.update(a, new Map([['s', {}]]));
		channels.update(b, new Map([['s', { task_ids: ['t2'] }]]));
		const seqs = (m: Member) => m.offers.map((runs) => runs.flatMap((r) => r.entries.map((e) => e.seq)));
		const publish = (seq: number, task: string) =>
			channels.publish(createEntry(seq, output(task, seq)), output(task, seq));
		// published, and in the same stretch (before the tick's flush) a narrows its subscription
		publish(1, 't1');
		publish(2, 't2');
		channels.update(a, new Map([['s', { task_ids: ['t2'] }]]));
		// it still gets both: its old channel wanted them
		expect(seqs(a)).toEqual([[1, 2]]);
		expect(seqs(b)).toEqual([[2]]);
		// the channel it joined holds nothing from before: the next event is the first it gets there
		publish(3, 't2');
		publish(4, 't1');
		await tick();
		expect(seqs(a)).toEqual([[1, 2], [3]]);
		expect(seqs(b)).toEqual([[2], [3]]);
	});
});
