/**
 * @module bench/masking
 * What masking secrets costs. Two tables:
 * - Log ingest with masking: the real `LogPipeline` (masking, output limit, numbering,
 *   `tool.lines` on a MemoryBus, batched SQLite writes) with 20 secret values masked, against
 *   the same pipeline masking nothing, in the same run. One line in a hundred holds a secret in
 *   one of its spellings; every stored line is checked to hold none.
 * - The matcher alone: `MaskSet` (one RegExp alternation over every spelling) against the
 *   Aho–Corasick library modern-ahocorasick on the same lines and the same spellings, the
 *   comparison that chose the RegExp.
 * - Values announced one by one: a tool printing {@link ANNOUNCED_VALUES} `::add-mask::` lines,
 *   each followed by a line of output, through a `StreamMasker`, against the same lines with the
 *   same values known from the start (a workflow's secrets): what announcing them costs in all,
 *   and the longest a single line held the event loop. Every line is checked to show no value.
 */
import { randomBytes } from 'node:crypto';
import AhoCorasick from 'modern-ahocorasick';
import { MemoryBus } from '../src/lib/server/bus/memory-bus';
import { createLogger } from '../src/lib/server/logger';
import { maskForms } from '../src/lib/server/masking/mask-forms';
import { DEFAULT_MAX_MASK_VALUES, MASK, MaskSet } from '../src/lib/server/masking/mask-set';
import { StreamMasker } from '../src/lib/server/masking/stream-masker';
import { LogPipeline } from '../src/lib/server/orchestrator/log-pipeline';
import { lineStream, lineText, openBenchStore } from './lib/fixtures';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { medianOf, yieldToLoop } from './lib/stats';

export const SECRET_COUNT = 20;
export const PIPELINE_LINES = 100_000;
export const MATCHER_LINES = 200_000;
/** lines per event-loop turn, about what one 32 KiB read of a tool's stdout brings */
const LINES_PER_READ = 256;
const REPETITIONS = 3;
/** as many as a task may announce */
export const ANNOUNCED_VALUES = DEFAULT_MAX_MASK_VALUES;

/** 20 token-like values, the same kind in every run */
function secrets(): string[] {
	// half of them with characters that URLs escape, so their URL-encoded spellings count too
	return Array.from({ length: SECRET_COUNT }, (_, i) =>
		randomBytes(18).toString(i % 2 ? 'base64' : 'base64url')
	);
}

/** the i-th line; one in a hundred carries a secret, raw or in another spelling */
function leakyLine(i: number, values: readonly string[]): string {
	const text = lineText(i);
	if (i % 100 !== 7) return text;
	const secret = values[((i / 100) % values.length) | 0];
	const spellings = [secret, Buffer.from(`x${secret}`).toString('base64'), JSON.stringify({ secret })];
	return `${text} token=${spellings[i % spellings.length]}`;
}

interface PipelineRun extends Record<string, number> {
	linesPerSecond: number;
}

async function ingest(values: readonly string[], masked: boolean): Promise<PipelineRun> {
	const bench = await openBenchStore(masked ? 'masking' : 'masking-baseline');
	try {
		const pipeline = new LogPipeline({
			store: bench.store,
			bus: new MemoryBus(),
			logger: createLogger('silent'),
			task_id: bench.taskId,
			run_id: null,
			execution_id: bench.executionId,
			masks: new MaskSet(masked ? values : [])
		});
		const started = performance.now();
		for (let i = 0; i < PIPELINE_LINES;) {
			const end = Math.min(PIPELINE_LINES, i + LINES_PER_READ);
			for (; i < end; i++) pipeline.push(lineStream(i), leakyLine(i, values));
			await yieldToLoop();
		}
		await pipeline.close();
		const seconds = (performance.now() - started) / 1000;
		const stored = await bench.store.readLogLines(bench.executionId, { after: 0, limit: 10_000 });
		const execution = await bench.store.getExecution(bench.executionId);
		check(
			execution?.line_count === PIPELINE_LINES,
			`stored ${execution?.line_count} of ${PIPELINE_LINES} lines`
		);
		if (masked) {
			let leaked = 0;
			for await (const chunk of bench.store.iterateLogLines(bench.executionId)) {
				for (const line of chunk) if (values.some((value) => line.text.includes(value))) leaked++;
			}
			check(leaked === 0, `${leaked} stored lines still hold a secret`);
			check(
				stored.some((line) => line.text.includes(MASK)),
				'no stored line shows a mask: the secrets were not in the lines'
			);
		}
		return { linesPerSecond: PIPELINE_LINES / seconds };
	} finally {
		await bench.dispose();
	}
}

function matcherRun(lines: readonly string[], mask: (text: string) => string): PipelineRun {
	let changed = 0;
	const started = performance.now();
	for (const line of lines) if (mask(line) !== line) changed++;
	const seconds = (performance.now() - started) / 1000;
	check(changed === Math.ceil(lines.length / 100), `masked ${changed} lines, expected one in a hundred`);
	return { linesPerSecond: lines.length / seconds };
}

interface AnnounceRun extends Record<string, number> {
	ms: number;
	longestLineMs: number;
}

/**
 * `values` announced by `::add-mask::` lines, each followed by an output line holding it and an
 * earlier one, through one stream's masker; `known` values are in the set from the start.
 */
function announceRun(values: readonly string[], known: readonly string[]): AnnounceRun {
	const masker = new StreamMasker(new MaskSet(known));
	let longest = 0;
	let shown = 0;
	const started = performance.now();
	for (const [i, value] of values.entries()) {
		for (const line of [
			`::add-mask::${value}`,
			`step ${i}: token ${value} after ${values[(i * 7) % (i + 1)]}`
		]) {
			const t0 = performance.now();
			const piece = masker.push(line, false);
			longest = Math.max(longest, performance.now() - t0);
			if (piece && (piece.text.includes(value) || !piece.text.includes(MASK))) shown++;
		}
	}
	const ms = performance.now() - started;
	check(shown === 0, `${shown} lines showed the value they announced or held`);
	return { ms, longestLineMs: longest };
}

export async function runMasking(): Promise<BenchSummary> {
	const values = secrets();
	// warm-up of both sides, so JIT compilation is not measured
	await ingest(values, true);
	await ingest(values, false);
	const masked: PipelineRun[] = [];
	const plain: PipelineRun[] = [];
	for (let r = 0; r < REPETITIONS; r++) {
		masked.push(await ingest(values, true));
		plain.push(await ingest(values, false));
	}
	const withMasks = medianOf(masked);
	const without = medianOf(plain);
	const throughput: Metric = {
		label: `lines stored per second, ${SECRET_COUNT} values masked vs none`,
		unit: '',
		aco: withMasks.linesPerSecond,
		baseline: without.linesPerSecond,
		better: 'higher'
	};
	const forms = new Set(values.flatMap((value) => maskForms(value)));
	printTable(
		`Masking in log ingest: LogPipeline → SQLite with ${SECRET_COUNT} secrets (${forms.size} spellings) vs none; median of ${REPETITIONS}`,
		[throughput],
		['a ratio just under 1× is the cost of masking; one line in a hundred holds a secret']
	);

	const lines = Array.from({ length: MATCHER_LINES }, (_, i) => leakyLine(i, values));
	const regexp = new MaskSet(values);
	const library = new AhoCorasick([...forms]);
	const byLibrary = (text: string) => library.replace(text, MASK);
	matcherRun(lines.slice(0, 20_000), (text) => regexp.mask(text));
	matcherRun(lines.slice(0, 20_000), byLibrary);
	const regexpRuns: PipelineRun[] = [];
	const libraryRuns: PipelineRun[] = [];
	for (let r = 0; r < REPETITIONS; r++) {
		regexpRuns.push(matcherRun(lines, (text) => regexp.mask(text)));
		libraryRuns.push(matcherRun(lines, byLibrary));
		await yieldToLoop();
	}
	const matcher: Metric = {
		label: 'lines masked per second (RegExp vs Aho–Corasick)',
		unit: '',
		aco: medianOf(regexpRuns).linesPerSecond,
		baseline: medianOf(libraryRuns).linesPerSecond,
		better: 'higher'
	};
	printTable(
		`The matcher alone: MaskSet's RegExp vs modern-ahocorasick, ${forms.size} spellings, ${MATCHER_LINES.toLocaleString('en-US')} lines; median of ${REPETITIONS}`,
		[matcher],
		['the library matches whole grapheme clusters (Intl.Segmenter), which also costs time per line']
	);

	const announced = Array.from({ length: ANNOUNCED_VALUES }, () => randomBytes(18).toString('base64url'));
	announceRun(announced, []);
	announceRun(announced, announced);
	const oneByOne: AnnounceRun[] = [];
	const atStart: AnnounceRun[] = [];
	for (let r = 0; r < REPETITIONS; r++) {
		oneByOne.push(announceRun(announced, []));
		atStart.push(announceRun(announced, announced));
		await yieldToLoop();
	}
	const announcing: Metric = {
		label: `ms for ${ANNOUNCED_VALUES.toLocaleString('en-US')} values announced one by one vs known at the start`,
		unit: 'ms',
		aco: medianOf(oneByOne).ms,
		baseline: medianOf(atStart).ms,
		better: 'lower'
	};
	const stall: Metric = {
		label: 'the longest one line held the event loop (ms)',
		unit: 'ms',
		aco: medianOf(oneByOne).longestLineMs,
		baseline: medianOf(atStart).longestLineMs,
		better: 'lower'
	};
	printTable(
		`Values announced one by one: ${ANNOUNCED_VALUES.toLocaleString('en-US')} ::add-mask:: lines, each followed by a line of output, through a StreamMasker; median of ${REPETITIONS}`,
		[announcing, stall],
		[
			'baseline: the same lines with every value in the set from the start (a workflow’s secrets); ' +
				'the matcher is not rebuilt for every value announced (see masking/mask-set)'
		]
	);
	return { headline: throughput, also: [matcher, announcing, stall] };
}
