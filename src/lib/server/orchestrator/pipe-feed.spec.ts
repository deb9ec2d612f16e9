import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { countLoopTurns } from '../../../../tests/helpers/loop-turns';
import { PipeFeed, type FeedShare } from './pipe-feed';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** a budget that is spent by the first slice of each turn */
const oneSlicePerTurn: FeedShare = { toolFlooding: () => {}, feedDeadline: () => -Infinity };

/** a feed of 4-byte slices that counts the floods it reports */
function makeCounting(toolFlooding: () => void) {
	const stream = new PassThrough();
	const feed = new PipeFeed(stream, {
		write: () => {},
		share: { ...oneSlicePerTurn, toolFlooding },
		sliceBytes: 4
	});
	return { stream, feed };
}

function make(options: { sliceBytes?: number; pressure?: () => Promise<void> | null } = {}) {
	const stream = new PassThrough();
	const got: string[] = [];
	const feed = new PipeFeed(stream, {
		write: (chunk) => got.push(chunk.toString()),
		share: oneSlicePerTurn,
		...options
	});
	return { stream, got, feed };
}

describe('PipeFeed', () => {
	it('hands a chunk over in slices, in order, for at most its time per event-loop turn', async () => {
		const turns = countLoopTurns();
		const stream = new PassThrough();
		const slices: [string, number][] = [];
		let clock = 0;
		let floods = 0;
		const feed = new PipeFeed(stream, {
			write: (chunk) => {
				slices.push([chunk.toString(), turns.turn]);
				// each slice takes 3 ms: the second spends the turn's 5
				clock += 3;
			},
			share: { toolFlooding: () => (floods += 1), feedDeadline: () => clock + 5 },
			sliceBytes: 4,
			now: () => clock
		});
		stream.write('abcdefghijklmn');
		await vi.waitFor(() => expect(slices.map(([text]) => text)).toEqual(['abcd', 'efgh', 'ijkl', 'mn']));
		turns.stop();
		const [a, b, c, d] = slices.map(([, at]) => at);
		expect([a === b, b === c, c === d, a === c]).toEqual([true, false, true, false]);
		// a read of a slice or more: the tool floods
		expect(floods).toBe(1);
		await new Promise<void>((resolve) => feed.whenFed(resolve));
	});

	it('calls a read a flood when it fills a slice, not when it is shorter', async () => {
		let floods = 0;
		const { stream, feed } = makeCounting(() => (floods += 1));
		stream.write('abc');
		await new Promise<void>((resolve) => feed.whenFed(resolve));
		await turn();
		expect(floods).toBe(0);
		stream.write('defg');
		await vi.waitFor(() => expect(floods).toBe(1));
		await new Promise<void>((resolve) => feed.whenFed(resolve));
	});

	it('keeps a chunk read while another is being cut behind it', async () => {
		const { stream, got, feed } = make({ sliceBytes: 4 });
		stream.write('0123456789');
		await turn();
		// as Node does with a child's pipes at its exit
		stream.resume();
		stream.write('abcdef');
		stream.end('XYZ');
		await new Promise<void>((resolve) => stream.once('end', resolve));
		await new Promise<void>((resolve) => feed.whenFed(resolve));
		expect(got.join('')).toBe('0123456789abcdefXYZ');
		expect(got.every((slice) => slice.length <= 4)).toBe(true);
	});

	it('waits for the consumer between slices while it is behind', async () => {
		let release!: () => void;
		let behind: Promise<void> | null = new Promise<void>((resolve) => (release = resolve));
		const { stream, got, feed } = make({ sliceBytes: 4, pressure: () => behind });
		stream.write('abcdefgh');
		await turn();
		await turn();
		expect(got).toEqual(['abcd']);
		let fed = false;
		feed.whenFed(() => (fed = true));
		behind = null;
		release();
		await vi.waitFor(() => expect(fed).toBe(true));
		expect(got).toEqual(['abcd', 'efgh']);
	});

	it('goes on past a consumer that throws: the rest is handed over and it says when it is fed', async () => {
		const stream = new PassThrough();
		const got: string[] = [];
		const feed = new PipeFeed(stream, {
			write: (chunk) => {
				got.push(chunk.toString());
				if (got.length === 1) throw new Error('consumer broke');
			},
			sliceBytes: 4
		});
		stream.write('abcdefgh');
		await vi.waitFor(() => expect(got).toEqual(['abcd', 'efgh']));
		await new Promise<void>((resolve) => feed.whenFed(resolve));
		expect(feed.feeding).toBe(false);
	});

	it('says at once when nothing waits, and drops what waits once stopped', async () => {
		const { stream, got, feed } = make({ sliceBytes: 4 });
		let fed = 0;
		feed.whenFed(() => (fed += 1));
		expect(fed).toBe(1);
		stream.write('abcdefgh');
		feed.whenFed(() => (fed += 1));
		feed.stop();
		expect(fed).toBe(2);
		await turn();
		await turn();
		expect(got).toEqual(['abcd']);
	});
});
