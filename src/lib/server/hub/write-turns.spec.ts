import { describe, expect, it, vi } from 'vitest';
import { countLoopTurns } from '../../../../tests/helpers/loop-turns';
import { WriteTurns } from './write-turns';

const nextLoopTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteTurns', () => {
	it('serves the turns after pending I/O, in the order they came, each once', async () => {
		const turns = new WriteTurns();
		const served: string[] = [];
		turns.enqueue(() => served.push('a'));
		turns.enqueue(() => served.push('b'));
		expect(served).toEqual([]);
		expect(turns.waiting).toBe(2);
		await nextLoopTurn();
		expect(served).toEqual(['a', 'b']);
		expect(turns.waiting).toBe(0);
		await nextLoopTurn();
		expect(served).toEqual(['a', 'b']);
	});

	it('yields to the loop once its slice is spent and serves the rest on a later turn', async () => {
		let clock = 0;
		const turns = new WriteTurns({ sliceMs: 5, now: () => clock });
		const order: string[] = [];
		turns.enqueue(() => {
			order.push('a');
			clock += 10;
			// I/O that comes in meanwhile gets the loop before the next slice
			setImmediate(() => order.push('io'));
		});
		turns.enqueue(() => order.push('b'));
		turns.enqueue(() => order.push('c'));
		await vi.waitFor(() => expect(order).toEqual(['a', 'io', 'b', 'c']));
	});

	it('asks for its slice at each loop turn when given a function (shorter while a tool prints)', async () => {
		const loop = countLoopTurns();
		let clock = 0;
		let sliceMs = 5;
		const turns = new WriteTurns({ sliceMs: () => sliceMs, now: () => clock });
		const served: [string, number][] = [];
		const turn = (name: string) => () => {
			served.push([name, loop.turn]);
			clock += 2;
			sliceMs = 1;
		};
		for (const name of ['a', 'b', 'c', 'd', 'e']) turns.enqueue(turn(name));
		await vi.waitFor(() => expect(served).toHaveLength(5));
		loop.stop();
		const at = Object.fromEntries(served);
		// 5 ms asked at the first slice: three turns of 2 ms; then 1 ms: one per loop turn
		expect(at.a).toBe(at.c);
		expect(new Set([at.c, at.d, at.e]).size).toBe(3);
	});

	it('serves a turn queued again during a slice on the next loop turn, behind the others', async () => {
		const turns = new WriteTurns();
		const order: string[] = [];
		let again = true;
		const a = () => {
			order.push('a');
			if (again) turns.enqueue(a);
			again = false;
		};
		turns.enqueue(a);
		turns.enqueue(() => order.push('b'));
		await nextLoopTurn();
		expect(order).toEqual(['a', 'b']);
		await vi.waitFor(() => expect(order).toEqual(['a', 'b', 'a']));
	});

	it('keeps serving the others when a turn throws, and reports the error', async () => {
		const onError = vi.fn();
		const turns = new WriteTurns({ onError });
		const served: string[] = [];
		turns.enqueue(() => {
			throw new Error('socket gone');
		});
		turns.enqueue(() => served.push('b'));
		await nextLoopTurn();
		expect(served).toEqual(['b']);
		expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'socket gone' }));
	});

	it('drops what waits when closed and takes nothing after', async () => {
		const turns = new WriteTurns();
		const served = vi.fn();
		turns.enqueue(served);
		turns.close();
		turns.enqueue(served);
		await nextLoopTurn();
		await nextLoopTurn();
		expect(served).not.toHaveBeenCalled();
		expect(turns.waiting).toBe(0);
	});
});
