/**
 * @module bench/run-plan
 * How long planning a run holds the event loop when its first task failed and every other task
 * must be failed for it: a chain of 5,000 tasks (each needs the one before), defined from its end,
 * against the same chain defined from its start (the baseline, in the same run). The plan runs
 * on the event loop after every task end, so its time is a stall every page and client feels.
 * Before the plan worked in waves from each blocking need, the chain defined from its end was
 * rescanned once per task it blocked: 2.4 s against 6 ms.
 *
 * And before a run is planned its workflow file is parsed: the longest the event loop is held
 * while a 1 MiB workflow file (15,000 tasks) is parsed as the loader does (in a worker thread past
 * 32 KiB, see orchestrator/workflow-parse), against the same text parsed on the loop.
 */
import { planSchedule, type ScheduledTask } from '../src/lib/server/orchestrator/schedule';
import { parseWorkflowFile } from '../src/lib/server/orchestrator/workflow-file';
import { parseWorkflowOffLoop } from '../src/lib/server/orchestrator/workflow-parse';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { median } from './lib/stats';

const TASKS = 5_000;
const REPETITIONS = 9;

function chain(fromEnd: boolean): ScheduledTask[] {
	const tasks = Array.from({ length: TASKS }, (_, i) => ({
		key: `t${i}`,
		needs: i === 0 ? [] : [`t${i - 1}`],
		optional: false
	}));
	return fromEnd ? tasks.reverse() : tasks;
}

/** ms to plan `tasks` with the first failed; every other task must come out blocked */
function timedPlan(tasks: ScheduledTask[]): number {
	const started = performance.now();
	const plan = planSchedule(tasks, { t0: 'failed' }, 4);
	const ms = performance.now() - started;
	check(plan.blocked.length === TASKS - 1, `${plan.blocked.length} of ${TASKS - 1} tasks blocked`);
	check(plan.finished && plan.status === 'failed', 'the run did not end failed');
	return ms;
}

export async function runRunPlan(): Promise<BenchSummary> {
	const fromEnd = chain(true);
	const fromStart = chain(false);
	// once each first: the first call compiles
	timedPlan(fromEnd);
	timedPlan(fromStart);
	const times = { fromEnd: [] as number[], fromStart: [] as number[] };
	for (let r = 0; r < REPETITIONS; r++) {
		times.fromEnd.push(timedPlan(fromEnd));
		times.fromStart.push(timedPlan(fromStart));
		await new Promise((resolve) => setImmediate(resolve));
	}
	const stall: Metric = {
		label: `ms to plan a ${TASKS.toLocaleString('en-US')}-task chain whose first task failed, defined from its end vs from its start`,
		unit: 'ms',
		aco: median(times.fromEnd),
		baseline: median(times.fromStart),
		better: 'lower',
		digits: 1
	};
	printTable(
		`Planning a run whose first task failed (orchestrator/schedule); median of ${REPETITIONS}`,
		[stall],
		['the plan runs on the event loop after every task end; the order tasks are defined in should not matter']
	);

	const text = workflowText(PARSE_TASKS);
	const parses = { worker: [] as number[], loop: [] as number[] };
	for (let r = 0; r < PARSE_REPETITIONS; r++) {
		parses.worker.push(
			await longestStallMs(async () => checkParsed(await parseWorkflowOffLoop(text, 'big.yml')))
		);
		parses.loop.push(await longestStallMs(async () => checkParsed(parseWorkflowFile(text, 'big.yml'))));
	}
	const parse: Metric = {
		label: `longest event-loop stall (ms) while a ${(text.length / 1024 / 1024).toFixed(1)} MiB workflow is parsed, as the loader does vs on the loop`,
		unit: 'ms',
		aco: median(parses.worker),
		baseline: median(parses.loop),
		better: 'lower',
		digits: 1
	};
	printTable(
		`Parsing a large workflow file (orchestrator/workflow-parse); median of ${PARSE_REPETITIONS}`,
		[parse],
		[
			'the loader parses a file again each time it changes; pages, health checks and the hub wait while the loop is held'
		]
	);
	return { headline: stall, also: [parse] };
}

const PARSE_TASKS = 15_000;
const PARSE_REPETITIONS = 3;

function workflowText(tasks: number): string {
	let text = 'name: big\ntasks:\n';
	for (let i = 0; i < tasks; i++) {
		text += `  t${i}:\n${i ? `    needs: [t${i - 1}]\n` : ''}    steps: [{ run: "echo hello from task ${i}" }]\n`;
	}
	return text;
}

function checkParsed(result: ReturnType<typeof parseWorkflowFile>): void {
	check(result.ok && result.workflow.tasks.length === PARSE_TASKS, 'the large workflow did not parse whole');
}

/** The longest gap between the ticks of a 1 ms interval (ms) while `work` ran: how long the loop was held. */
async function longestStallMs(work: () => Promise<void>): Promise<number> {
	let last = performance.now();
	let longest = 0;
	const ticking = setInterval(() => {
		const now = performance.now();
		longest = Math.max(longest, now - last);
		last = now;
	}, 1);
	const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
	try {
		await settle();
		longest = 0;
		await work();
		// a few more ticks, so a stall at the very end is seen
		await settle();
		return longest;
	} finally {
		clearInterval(ticking);
	}
}
