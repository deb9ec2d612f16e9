/**
 * @module masking/test-mask-registry
 * A {@link MaskRegistry} in memory for specs: Redis's lists as one Map, with the generations and
 * the once-each rule of the real one. `state.down` makes every call reject, as a Redis that
 * cannot be reached; `lose()` drops every list, as a Redis restarted without its data.
 */
import type { MaskList, MaskRegistry } from './mask-registry';

export function memoryMaskRegistry() {
	const lists = new Map<string, { generation: string; values: string[] }>();
	const state = { down: false };
	let made = 0;
	const reachable = () => {
		if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
	};
	const registry: MaskRegistry = {
		async read(taskId, from, generation): Promise<MaskList> {
			reachable();
			const list = lists.get(taskId);
			if (!list) return { length: 0, generation: null, values: [] };
			const start = list.generation === generation ? from : 0;
			return { length: list.values.length, generation: list.generation, values: list.values.slice(start) };
		},
		async add(taskId, values) {
			reachable();
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
	return { registry, state, valuesOf, lose: () => lists.clear() };
}
