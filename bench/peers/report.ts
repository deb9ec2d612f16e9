/**
 * @module bench/peers/report
 * How the peers suite reports: per scenario, the figures of each system (medians of the rounds),
 * then every aco figure as a ratio against each peer (oriented so > 1 means aco did better), then
 * the issue's bars with PASS or MISS. Everything also goes to a JSON file in bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNumber, printRows } from '../lib/report';

export interface MetricSpec {
	key: string;
	label: string;
	unit: string;
	better: 'higher' | 'lower';
	digits?: number;
}

export interface Bar {
	/** what the issue asks, in words */
	text: string;
	value: number;
	limit: number;
	op: '>=' | '<=';
	pass: boolean;
}

export interface ScenarioResult {
	id: number;
	name: string;
	title: string;
	/** system → metric key → median figure */
	figures: Record<string, Record<string, number>>;
	/** system → metric key → each round's figure */
	rounds: Record<string, Record<string, number[]>>;
	metrics: MetricSpec[];
	/** peers each aco row is compared with, by system name (the first system is aco) */
	ratios: { system: string; peer: string; metric: string; ratio: number }[];
	bars: Bar[];
	notes: string[];
	seconds: number;
	error?: string;
}

export function bar(text: string, value: number, op: '>=' | '<=', limit: number): Bar {
	const pass = Number.isFinite(value) && (op === '>=' ? value >= limit : value <= limit);
	return { text, value, limit, op, pass };
}

/** How many times better `a` is than `b` on a metric. */
export function ratio(spec: MetricSpec, a: number, b: number): number {
	return spec.better === 'higher' ? a / b : b / a;
}

export function formatRatio(value: number): string {
	if (!Number.isFinite(value)) return '—';
	return `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}×`;
}

/** Ratios of `subject`'s figures against each of `peers`, for every metric. */
export function ratiosAgainst(
	figures: Record<string, Record<string, number>>,
	metrics: MetricSpec[],
	subject: string,
	peers: string[]
): ScenarioResult['ratios'] {
	const out: ScenarioResult['ratios'] = [];
	const mine = figures[subject];
	if (!mine) return out;
	for (const peer of peers) {
		const theirs = figures[peer];
		if (!theirs) continue;
		for (const m of metrics) {
			if (mine[m.key] === undefined || theirs[m.key] === undefined) continue;
			out.push({ system: subject, peer, metric: m.key, ratio: ratio(m, mine[m.key]!, theirs[m.key]!) });
		}
	}
	return out;
}

export function printScenario(result: ScenarioResult, labels: Record<string, string>): void {
	console.log(`\n${result.id}. ${result.title}  (${result.seconds.toFixed(0)} s)`);
	if (result.error) console.log(`  FAILED: ${result.error}`);
	const systems = Object.keys(result.figures);
	if (systems.length) {
		const rows = [['system', ...result.metrics.map((m) => (m.unit ? `${m.label} (${m.unit})` : m.label))]];
		for (const system of systems) {
			rows.push([
				labels[system] ?? system,
				...result.metrics.map((m) => {
					const v = result.figures[system]![m.key];
					return v === undefined ? '—' : formatNumber(v, m.digits ?? (Math.abs(v) < 10 ? 2 : 0));
				})
			]);
		}
		printRows(rows);
	}
	const peers = [...new Set(result.ratios.map((r) => r.peer))];
	if (peers.length) {
		console.log(`  aco as a ratio against each (> 1 = aco better):`);
		const metrics = result.metrics.filter((m) => result.ratios.some((r) => r.metric === m.key));
		const rows = [['metric', ...peers.map((p) => labels[p] ?? p)]];
		// several aco rows (e.g. a tool and the ingest APIs against one baseline): one line each
		const subjects = [...new Set(result.ratios.map((r) => r.system))];
		for (const system of subjects) {
			for (const m of metrics) {
				const mine = result.ratios.filter((x) => x.system === system && x.metric === m.key);
				if (mine.length === 0) continue;
				rows.push([
					subjects.length > 1 ? `${labels[system] ?? system}: ${m.label}` : m.label,
					...peers.map((p) => {
						const r = mine.find((x) => x.peer === p);
						return r ? formatRatio(r.ratio) : '—';
					})
				]);
			}
		}
		printRows(rows);
	}
	for (const b of result.bars) {
		const value = Math.abs(b.value) < 10 ? b.value.toFixed(2) : formatNumber(b.value);
		console.log(`  ${b.pass ? 'PASS' : 'MISS'}  ${b.text}: ${value} (bar ${b.op} ${formatLimit(b.limit)})`);
	}
	for (const note of result.notes) console.log(`  · ${note}`);
}

/** A bar's limit as printed: derived limits (e.g. 2x a baseline) get two decimals, not seventeen. */
export function formatLimit(limit: number): string {
	if (Number.isInteger(limit)) return limit.toLocaleString('en-US');
	return Math.abs(limit) < 10 ? limit.toFixed(2) : formatNumber(limit);
}

export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Writes the run to bench/results/peers-[size-]<time>.json (and peers-latest.json unless a smoke); returns the path. */
export function writeResults(run: object, size: 'quick' | 'short' | 'full'): string {
	fs.mkdirSync(RESULTS_DIR, { recursive: true });
	const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
	const file = path.join(RESULTS_DIR, `peers-${size === 'full' ? '' : `${size}-`}${stamp}.json`);
	const body = JSON.stringify(
		{ ...run, machine: machine(), finishedAt: new Date().toISOString() },
		null,
		'\t'
	);
	fs.writeFileSync(file, body + '\n');
	if (size !== 'quick') fs.writeFileSync(path.join(RESULTS_DIR, 'peers-latest.json'), body + '\n');
	return file;
}

function machine() {
	return {
		node: process.version,
		platform: `${process.platform}/${process.arch}`,
		cpus: os.cpus().length,
		cpuModel: os.cpus()[0]?.model ?? 'unknown',
		loadAverage: os.loadavg(),
		totalMemoryGiB: Math.round(os.totalmem() / 2 ** 30)
	};
}
