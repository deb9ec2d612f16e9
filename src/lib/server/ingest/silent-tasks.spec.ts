import { afterEach, describe, expect, it } from 'vitest';
import { heardWriteMs, SilentTasks } from './silent-tasks';

describe('SilentTasks', () => {
	let silent: SilentTasks | null = null;
	afterEach(() => silent?.close());

	it('writes a heard time once per quarter of the silence, and again after a failed write', async () => {
		let clock = 1_000_000;
		const writes: [string, string][] = [];
		let failing = false;
		const errors: string[] = [];
		silent = new SilentTasks({
			store: {
				noteHeard: async (id, at) => {
					if (failing) throw new Error('store away');
					writes.push([id, at]);
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
		expect(writes.map(([id]) => id)).toEqual(['a', 'b']);
		clock += 1;
		failing = true;
		await silent.heard('a');
		expect(errors).toHaveLength(1);
		failing = false;
		await silent.heard('a');
		expect(writes.map(([id]) => id)).toEqual(['a', 'b', 'a']);
		expect(writes[2]![1]).toBe(new Date(clock).toISOString());
		// an ended task starts over
		silent.forget('b');
		await silent.heard('b');
		expect(writes.map(([id]) => id)).toEqual(['a', 'b', 'a', 'b']);
	});

	it('hands on the tasks silent for longer than allowed plus a write’s wait, and keeps sweeping after a failure', async () => {
		const asked: string[] = [];
		const handed: string[] = [];
		let failures = 1;
		const errors: string[] = [];
		silent = new SilentTasks({
			store: {
				noteHeard: async () => {},
				listSilentTasks: async (before) => {
					asked.push(before);
					if (failures-- > 0) throw new Error('store away');
					return ['t1', 't2'];
				}
			},
			silenceMs: 400,
			onSilent: async (id) => void handed.push(id),
			onError: (_err, what) => errors.push(what),
			now: () => 10_000
		});
		while (handed.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
		expect(errors).toHaveLength(1);
		expect(handed.slice(0, 2)).toEqual(['t1', 't2']);
		expect(asked[0]).toBe(new Date(10_000 - 400 - 100).toISOString());
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
		expect(calls).toBe(0);
	});
});
