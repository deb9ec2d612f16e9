/**
 * @module masking/test-mask-registry
 * A {@link MaskRegistry} in memory for specs: Redis's lists as one Map, with the generations and
 * the once-each rule of the real one. `state.down` makes every call reject, as a Redis that
 * cannot be reached (`state.addsDown` only the adds); `lose()` drops every list, as a Redis restarted without its data;
 * `rollBack(taskId, n)` keeps a list's first `n` values, as an older copy of it would.
 */
import type { MaskList, MaskListPosition, MaskRegistry } from './mask-registry';

export function memoryMaskRegistry() {
	const lists = new Map<string, { generation: string; values: string[] }>();
	const state = { down: false, addsDown: false };
	let made = 0;
	const reachable = () => {
		if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
	};
	const registry: MaskRegistry = {
		async read(taskId, at: MaskListPosition): Promise<MaskList> {
			reachable();
			const list = lists.get(taskId);
			if (!list) return { length: 0, generation: null, last: null, values: [], rolledBack: false };
			const same = list.generation === at.generation;
			const rolledBack = same && at.length > 0 && list.values[at.length - 1] !== at.last;
			const values = list.values.slice(same && !rolledBack ? at.length : 0);
			const n = list.values.length;
			return {
				generation: list.generation,
				length: n,
				last: values.at(-1) ?? (n === 0 ? null : at.last),
				values,
				rolledBack
			};
		},
		async add(taskId, values) {
			reachable();
			if (state.addsDown) throw new Error('Command timed out');
			let list = lists.get(taskId);
			if (!list) lists.set(taskId, (list = { generation: `generation:${++made}`, values: [] }));
			let taken = 0;
			for (const value of values) {
				if (list.values.includes(value)) continue;
				list.values.push(value);
				taken++;
			}
			return { taken, generation: list.generation };
		},
		async forget(taskId) {
			lists.delete(taskId);
		},
		async close() {}
	};
	/** the values of a task's list, or undefined when it has none */
	const valuesOf = (taskId: string) => lists.get(taskId)?.values;
	const rollBack = (taskId: string, n: number) => lists.get(taskId)?.values.splice(n);
	return { registry, state, valuesOf, lose: () => lists.clear(), rollBack };
}
