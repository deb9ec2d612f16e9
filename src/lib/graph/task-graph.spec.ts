import { describe, expect, it } from 'vitest';
import { columns, edgePath, layoutTaskGraph } from './task-graph';

const demo = [
	{ key: 'setup', needs: [] },
	{ key: 'build', needs: ['setup'] },
	{ key: 'test', needs: ['setup'] },
	{ key: 'lint', needs: ['setup'] },
	{ key: 'package', needs: ['build', 'test'] }
];

describe('layoutTaskGraph', () => {
	it('places tasks left to right by their needs, without overlapping boxes', () => {
		const { nodes, edges, width, height } = layoutTaskGraph(demo);
		const at = (key: string) => nodes.find((n) => n.key === key)!;
		expect(at('setup').x).toBeLessThan(at('build').x);
		expect(at('build').x).toBeLessThan(at('package').x);
		// the three that need only set up share a column
		expect(at('build').x).toBe(at('test').x);
		expect(at('build').x).toBe(at('lint').x);
		for (const a of nodes)
			for (const b of nodes) {
				if (a === b) continue;
				const apart =
					a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
				expect(apart).toBe(true);
			}
		expect(edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(
			['setup>build', 'setup>test', 'setup>lint', 'build>package', 'test>package'].sort()
		);
		for (const node of nodes) {
			expect(node.x + node.width).toBeLessThanOrEqual(width);
			expect(node.y + node.height).toBeLessThanOrEqual(height);
		}
		expect(at('package').rank).toBe(2);
	});

	it('ignores needs that name no task and survives a cycle', () => {
		const { nodes, edges } = layoutTaskGraph([
			{ key: 'a', needs: ['ghost'] },
			{ key: 'b', needs: ['a', 'b'] }
		]);
		expect(nodes).toHaveLength(2);
		expect(edges).toEqual([expect.objectContaining({ from: 'a', to: 'b' })]);
		expect(
			columns([
				{ key: 'x', needs: ['y'] },
				{ key: 'y', needs: ['x'] }
			]).size
		).toBe(2);
		expect(layoutTaskGraph([])).toEqual({ nodes: [], edges: [], width: 0, height: 0 });
	});

	it('draws an edge as a path through its points', () => {
		expect(
			edgePath([
				{ x: 0, y: 1 },
				{ x: 2.25, y: 3 }
			])
		).toBe('M0.0,1.0 L2.3,3.0');
	});
});
