import { afterEach, describe, expect, it } from 'vitest';
import { heardWriteMs, SilentTasks } from './silent-tasks';

/** waits until `check` holds; fails the spec when it does not within `ms` */
const until = async (check: () => boolean, ms = 5_000) => {
	const deadline = Date.now() + ms;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`still waiting for ${check.toString()} after ${ms} ms`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
};

describe('SilentTasks', () => {
	let silent: SilentTasks | null = null;
	afterEach(() => silent?.close());

	it('writes a heard time once per quarter of the silence, and again after a failed write', async () => {
		let clock = 1_000_000;
		const writes: string[] = [];
		let failing = false;
		const errors: string[] = [];
		silent = new SilentTasks({
			store: {
				noteHeard: async (id) => {
					if (failing) throw new Error('store away');
					writes.push(id);
				},
				listSilentTasks: async () => []
			},
			silenceMs: 60_000,
			onSilent: async () => {},
			onError: (_err, what) => errors.push(what),
			now: () => clock
		});
		expect(heardWriteMs(60_000)).toBe(15_000);
		await silent.heard('a');
		clock += 14_999;
		await silent.heard('a');
		await silent.heard('b');
		expect(writes).toEqual(['a', 'b']);
		clock += 1;
		failing = true;
		await silent.heard('a');
		expect(errors).toHaveLength(1);
		failing = false;
		await silent.heard('a');
		expect(writes).toEqual(['a', 'b', 'a']);
		// an ended task starts over
		silent.forget('b');
		await silent.heard('b');
		expect(writes).toEqual(['a', 'b', 'a', 'b']);
	});

	it('hands on the tasks silent past the silence plus a write’s wait once the store has answered that long, again after a failure', async () => {
		let clock = 0;
		const asked: number[] = [];
		const handed: number[] = [];
		let failing = false;
		const errors: string[] = [];
		silent = new SilentTasks({
			store: {
				noteHeard: async () => {},
				listSilentTasks: async (silentForMs) => {
					asked.push(silentForMs);
					if (failing) throw new Error('store away');
					return ['t1'];
				}
			},
			silenceMs: 400,
			onSilent: async () => void handed.push(clock),
			onError: (_err, what) => errors.push(what),
			now: () => clock
		});
		// each sweep sees the clock 100 ms on: the first answer at 100, hands on from 100 + 500
		const tick = async () => {
			const before = asked.length;
			clock += 100;
			await until(() => asked.length > before);
		};
		for (let i = 0; i < 5; i++) await tick();
		expect(handed).toEqual([]);
		await tick();
		await until(() => handed.length === 1);
		expect(handed).toEqual([600]);
		expect(asked[0]).toBe(400 + 100);
		// the store goes away, then answers again: a whole silence again before anything is handed on
		failing = true;
		await tick();
		await until(() => errors.length === 1);
		failing = false;
		const resumed = clock + 100;
		while (handed.length < 2) await tick();
		expect(handed[1]! - resumed).toBeGreaterThanOrEqual(500);
	});

	it('hands on the other silent tasks while one task’s ending hangs, and that one again only once it settles', async () => {
		let clock = 0;
		const handed: string[] = [];
		let settle!: () => void;
		const hanging = new Promise<void>((resolve) => (settle = resolve));
		let sweeps = 0;
		silent = new SilentTasks({
			store: {
				noteHeard: async () => {},
				listSilentTasks: async () => (sweeps++, ['stuck', 'quiet'])
			},
			silenceMs: 400,
			// the stuck task's ending waits behind a request of that task that does not complete
			onSilent: (taskId) => (handed.push(taskId), taskId === 'stuck' ? hanging : Promise.resolve()),
			onError: () => {},
			now: () => clock
		});
		await until(() => sweeps > 0);
		// the store has answered for longer than the silence plus a write's wait
		clock = 1_000;
		await until(() => handed.filter((id) => id === 'quiet').length >= 3);
		expect(handed.filter((id) => id === 'stuck')).toHaveLength(1);
		settle();
		await until(() => handed.filter((id) => id === 'stuck').length === 2);
	});

	it('hands nothing on once closed, even from a sweep under way', async () => {
		let clock = 0;
		const handed: string[] = [];
		const sweep: { answer?: (ids: string[]) => void } = {};
		let sweeps = 0;
		silent = new SilentTasks({
			store: {
				noteHeard: async () => {},
				listSilentTasks: () => {
					sweeps++;
					if (clock === 0) return Promise.resolve([]);
					return new Promise<string[]>((resolve) => (sweep.answer = resolve));
				}
			},
			silenceMs: 400,
			onSilent: async (taskId) => void handed.push(taskId),
			onError: () => {},
			now: () => clock
		});
		await until(() => sweeps > 0);
		clock = 1_000;
		await until(() => sweep.answer !== undefined);
		silent.close();
		sweep.answer!(['quiet']);
		// the sweep's answer is handled in the microtasks after it resolves
		await new Promise((resolve) => setImmediate(resolve));
		expect(handed).toEqual([]);
	});

	it('neither writes nor sweeps when silence is never a failure', async () => {
		let calls = 0;
		silent = new SilentTasks({
			store: { noteHeard: async () => void calls++, listSilentTasks: async () => (calls++, []) },
			silenceMs: 0,
			onSilent: async () => {},
			onError: () => {}
		});
		await silent.heard('a');
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(calls).toBe(0);
	});
});
