/**
 * @module graph/task-graph
 * Lays out a workflow's tasks as the graph their `needs` make, left to right (dagre): a box per
 * task and a polyline per dependency, in px. Pure; the run and workflow pages draw the result.
 * A `needs` entry naming no task is left out rather than drawn to nowhere.
 */
import { Graph, layout } from '@dagrejs/dagre';

export interface GraphTask {
	key: string;
	needs: readonly string[];
}

export interface PlacedNode {
	key: string;
	/** top-left corner */
	x: number;
	y: number;
	width: number;
	height: number;
	/** 0-based column (how many needs deep) */
	rank: number;
}

export interface PlacedEdge {
	from: string;
	to: string;
	points: { x: number; y: number }[];
}

export interface TaskGraphLayout {
	nodes: PlacedNode[];
	edges: PlacedEdge[];
	width: number;
	height: number;
}

export interface LayoutOptions {
	nodeWidth?: number;
	nodeHeight?: number;
	/** gap between columns */
	rankGap?: number;
	/** gap between boxes in one column */
	nodeGap?: number;
	margin?: number;
}

export function layoutTaskGraph(tasks: readonly GraphTask[], options: LayoutOptions = {}): TaskGraphLayout {
	const { nodeWidth = 220, nodeHeight = 84, rankGap = 56, nodeGap = 20, margin = 8 } = options;
	if (tasks.length === 0) return { nodes: [], edges: [], width: 0, height: 0 };
	const keys = new Set(tasks.map((task) => task.key));
	const graph = new Graph();
	graph.setGraph({ rankdir: 'LR', ranksep: rankGap, nodesep: nodeGap, marginx: margin, marginy: margin });
	graph.setDefaultEdgeLabel(() => ({}));
	for (const task of tasks) graph.setNode(task.key, { width: nodeWidth, height: nodeHeight });
	for (const task of tasks) {
		for (const need of task.needs) if (keys.has(need) && need !== task.key) graph.setEdge(need, task.key);
	}
	layout(graph);

	const ranks = columns(tasks, keys);
	const nodes = tasks.map((task) => {
		const node = graph.node(task.key) as { x: number; y: number };
		return {
			key: task.key,
			x: node.x - nodeWidth / 2,
			y: node.y - nodeHeight / 2,
			width: nodeWidth,
			height: nodeHeight,
			rank: ranks.get(task.key) ?? 0
		};
	});
	const edges = graph.edges().map((edge) => ({
		from: edge.v,
		to: edge.w,
		points: ((graph.edge(edge) as { points?: { x: number; y: number }[] }).points ?? []).map((p) => ({
			x: p.x,
			y: p.y
		}))
	}));
	const label = graph.graph() as { width?: number; height?: number };
	const width = label.width ?? Math.max(...nodes.map((n) => n.x + n.width)) + margin;
	const height = label.height ?? Math.max(...nodes.map((n) => n.y + n.height)) + margin;
	return { nodes, edges, width, height };
}

/** Each task's depth in needs (longest path from a task that needs nothing); cycles count once. */
export function columns(
	tasks: readonly GraphTask[],
	keys = new Set(tasks.map((t) => t.key))
): Map<string, number> {
	const byKey = new Map(tasks.map((task) => [task.key, task]));
	const depth = new Map<string, number>();
	const visiting = new Set<string>();
	const visit = (key: string): number => {
		const known = depth.get(key);
		if (known !== undefined) return known;
		if (visiting.has(key)) return 0;
		visiting.add(key);
		const needs = (byKey.get(key)?.needs ?? []).filter((need) => keys.has(need) && need !== key);
		const value = needs.length ? Math.max(...needs.map(visit)) + 1 : 0;
		visiting.delete(key);
		depth.set(key, value);
		return value;
	};
	for (const task of tasks) visit(task.key);
	return depth;
}

/** An SVG path through the points. */
export function edgePath(points: readonly { x: number; y: number }[]): string {
	return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/** What a box of the graph shows (see components/TaskGraph.svelte). */
export interface GraphNodeView {
	key: string;
	name: string;
	needs: readonly string[];
	status?: string;
	/** 0–100 */
	progress?: number;
	duration?: string;
	error?: string | null;
	optional?: boolean;
	/** the task that made the run fail */
	failing?: boolean;
	href?: string;
	meta?: string;
}
