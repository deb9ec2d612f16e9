/**
 * @module orchestrator/workflow-file
 * Parses and validates one workflow YAML file into a `WorkflowDef`. Every problem becomes one
 * human sentence with the line it is on ("line 7: tasks.build.steps[0].run: required"), so a
 * person can fix the file without reading a stack trace.
 */
import path from 'node:path';
import { isAlias, isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { z } from 'zod';
import type { WorkflowLoadError } from '../../protocol';

export interface StepDef {
	name: string;
	command: string;
	args: string[];
	/** absolute; the workflow file's folder unless the step says otherwise */
	cwd: string;
	/** merged over process.env when the step runs */
	env: Record<string, string>;
	/** null: no timeout */
	timeoutMs: number | null;
}

export interface TaskDef {
	key: string;
	name: string;
	needs: string[];
	optional: boolean;
	weight: number;
	/** times the task starts again on another node when the node running it dies or shuts down */
	retries: number;
	steps: StepDef[];
}

export interface WorkflowDef {
	name: string;
	description: string | null;
	/** absolute path of the file it came from */
	file: string;
	/** tasks in file order */
	tasks: TaskDef[];
}

export type ParseResult = { ok: true; workflow: WorkflowDef } | { ok: false; error: WorkflowLoadError };

/** Names go into URLs (`/workflows/{name}/runs`), so they stay plain. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** a task started more often than this is better fixed than retried */
export const MAX_RETRIES = 10;
/**
 * a task's share of its run's progress is at most this: the weights of every task in a file add up
 * to a finite number (a run's progress is their weighted mean), and a larger share means nothing more
 */
export const MAX_WEIGHT = 1_000_000;
/** a step's timeout in seconds: at least a millisecond, at most the longest a Node timer waits (about 24.8 days) */
export const MIN_TIMEOUT_S = 0.001;
export const MAX_TIMEOUT_S = 2_147_483;
/** shown issues per file; the rest are counted */
const MAX_REASONS = 3;
/** a step without a name is shown by its command line, cut to this length */
const MAX_DEFAULT_STEP_NAME = 60;
/**
 * anchors (`&x`) plus aliases (`*x`) per file: yaml finds each alias's anchor by scanning all of
 * them, so the work grows with the square of their count. A matrix of 5,000 tasks sharing one
 * list of steps (`steps: *steps`) still fits, and parses in about 0.3 s here.
 */
export const MAX_ANCHORS_AND_ALIASES = 5000;
/**
 * values once every alias is written out in full. 1 MiB of YAML holds fewer than this without
 * aliases, so only aliases that repeat large parts (or a billion-laughs file) reach it.
 */
export const MAX_EXPANDED_VALUES = 1_000_000;

/**
 * Text without NUL (YAML writes one as "\0"): no tool can be given one (its command line and
 * environment are C strings), and PostgreSQL text cannot hold one, so the file is refused.
 */
const text = z.string().refine((value) => !value.includes('\0'), 'contains a NUL character; remove it');
const scalar = z.union([text, z.number(), z.boolean()]).transform(String);

const stepSchema = z.strictObject({
	name: text.min(1).optional(),
	run: text.trim().min(1),
	args: z.array(scalar).optional(),
	cwd: text.min(1).optional(),
	env: z.record(text, scalar).optional(),
	timeout: z.number().min(MIN_TIMEOUT_S).max(MAX_TIMEOUT_S).optional()
});

const taskSchema = z.strictObject({
	name: text.min(1).optional(),
	needs: z.union([z.string(), z.array(z.string())]).optional(),
	optional: z.boolean().optional(),
	weight: z.number().positive().max(MAX_WEIGHT).optional(),
	retries: z.number().int().min(0).max(MAX_RETRIES).optional(),
	steps: z.array(stepSchema).min(1)
});

const workflowSchema = z.strictObject({
	name: z.string().regex(NAME_PATTERN, "use letters, digits, '.', '_' or '-'").optional(),
	description: text.optional(),
	tasks: z.record(z.string().regex(KEY_PATTERN, "use letters, digits, '_' or '-'"), taskSchema)
});

type RawWorkflow = z.infer<typeof workflowSchema>;
type PathKey = string | number;

/**
 * Parses the text of one workflow file.
 * @example parseWorkflowFile(fs.readFileSync(file, 'utf8'), file)
 */
export function parseWorkflowFile(text: string, file: string): ParseResult {
	let declared: string | null = null;
	const fail = (reason: string, line: number | null = null): ParseResult => ({
		ok: false,
		error: { file, reason, line, ...(declared ? { name: declared } : {}) }
	});
	const lineCounter = new LineCounter();
	// yaml's uniqueKeys compares each key with every earlier one (quadratic); checkNodes uses a Set
	const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
	if (doc.errors.length > 0) {
		const err = doc.errors[0];
		const line = err.linePos?.[0].line ?? null;
		const message = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
		return fail(line ? `line ${line}: ${message}` : message, line);
	}
	const problem = checkNodes(doc, lineCounter);
	if (problem) return fail(`line ${problem.line}: ${problem.reason}`, problem.line);
	let input: unknown;
	try {
		// yaml's alias limit counts uses, not what they expand to; countValues bounds that below
		input = doc.toJS({ maxAliasCount: -1 });
	} catch (err) {
		return fail(`cannot be read as YAML: ${(err as Error).message}`);
	}
	if (countValues(input, MAX_EXPANDED_VALUES) > MAX_EXPANDED_VALUES) {
		return fail(
			`the file expands to more than ${MAX_EXPANDED_VALUES.toLocaleString('en')} values once its aliases are written out; repeat less through aliases`
		);
	}
	const name = (input as { name?: unknown } | null)?.name;
	if (typeof name === 'string' && NAME_PATTERN.test(name)) declared = name;
	if (input === null || input === undefined) return fail('the file is empty');
	if (!isMap(doc.contents)) return fail("expected a mapping with 'name' and 'tasks' at the top");

	const parsed = workflowSchema.safeParse(input);
	if (!parsed.success) {
		const problems = parsed.error.issues.map((issue) => ({
			// an unknown key is shown where it is written, not where its mapping starts
			path: [...(issue.path as PathKey[]), ...(issue.code === 'unrecognized_keys' ? [issue.keys[0]] : [])],
			reason: `${describePath(issue.path as PathKey[])}: ${describeIssue(issue, input)}`
		}));
		const { reason, line } = joinProblems(doc, lineCounter, problems);
		return fail(reason, line);
	}

	const workflowName = parsed.data.name ?? path.basename(file).replace(/\.ya?ml$/i, '');
	if (!NAME_PATTERN.test(workflowName)) {
		return fail(
			`name: "${workflowName}" (from the file name) must use letters, digits, '.', '_' or '-'; set 'name'`
		);
	}
	const tasks = toTaskDefs(parsed.data, path.dirname(file));
	const graphProblems = checkGraph(tasks);
	if (graphProblems.length > 0) {
		const { reason, line } = joinProblems(doc, lineCounter, graphProblems);
		return fail(reason, line);
	}
	if (tasks.length === 0) return fail('tasks: a workflow needs at least one task');

	return {
		ok: true,
		workflow: { name: workflowName, description: parsed.data.description ?? null, file, tasks }
	};
}

function toTaskDefs(raw: RawWorkflow, dir: string): TaskDef[] {
	return Object.entries(raw.tasks).map(([key, task]) => ({
		key,
		name: task.name ?? key,
		needs: typeof task.needs === 'string' ? [task.needs] : (task.needs ?? []),
		optional: task.optional ?? false,
		weight: task.weight ?? 1,
		retries: task.retries ?? 0,
		steps: task.steps.map((step) => {
			// a command line without args goes through the shell, like `run:` in GitHub Actions
			const shell = step.args === undefined;
			const command = shell ? 'sh' : step.run;
			const args = shell ? ['-c', step.run] : step.args!;
			return {
				name: step.name ?? defaultStepName(shell ? step.run : [step.run, ...args].join(' ')),
				command,
				args,
				cwd: step.cwd ? path.resolve(dir, step.cwd) : dir,
				env: step.env ?? {},
				timeoutMs: step.timeout === undefined ? null : Math.round(step.timeout * 1000)
			};
		})
	}));
}

function defaultStepName(commandLine: string): string {
	const line = commandLine.replace(/\s+/g, ' ').trim();
	return line.length > MAX_DEFAULT_STEP_NAME ? line.slice(0, MAX_DEFAULT_STEP_NAME - 1) + '…' : line;
}

/**
 * The name a step is shown (and its execution stored) by, with its secrets masked. A step
 * without `name:` is named by its command line, which is masked whole before it is cut: masking
 * the cut name would miss a secret the cut splits, and show its first characters. The parsed
 * name stays unmasked in the definition (which masks are known only when the task runs), so the
 * command line is found again from the step's command: the name is the default one exactly when
 * it is what {@link defaultStepName} makes of it.
 * @example shownStepName(step, (text) => masks.mask(text)) // 'curl -H X-Token:*** https://…'
 */
export function shownStepName(
	step: Pick<StepDef, 'name' | 'command' | 'args'>,
	mask: (text: string) => string
): string {
	for (const line of commandLines(step)) {
		if (step.name === defaultStepName(line)) return defaultStepName(mask(line));
	}
	return mask(step.name);
}

/** the command lines a default step name may have been made from: `run:` alone (shell) or with its args */
function commandLines(step: Pick<StepDef, 'command' | 'args'>): string[] {
	const lines = [[step.command, ...step.args].join(' ')];
	if (step.command === 'sh' && step.args.length === 2 && step.args[0] === '-c') lines.unshift(step.args[1]);
	return lines;
}

/** Unknown needs and cycles, each with the YAML path it points at. */
function checkGraph(tasks: TaskDef[]): { path: PathKey[]; reason: string }[] {
	const byKey = new Map(tasks.map((task) => [task.key, task]));
	const problems: { path: PathKey[]; reason: string }[] = [];
	for (const task of tasks) {
		task.needs.forEach((need, i) => {
			if (!byKey.has(need)) {
				const at: PathKey[] = ['tasks', task.key, 'needs', i];
				problems.push({ path: at, reason: `${describePath(at)}: unknown task '${need}'` });
			}
		});
	}
	if (problems.length > 0) return problems;

	// depth-first search, on a stack of its own (a chain of thousands of tasks would overflow the
	// call stack); a task met again while still on the stack closes a cycle
	const state = new Map<string, 'visiting' | 'done'>();
	const visit = (start: string): string[] | null => {
		if (state.get(start) === 'done') return null;
		const stack: { key: string; next: number }[] = [{ key: start, next: 0 }];
		state.set(start, 'visiting');
		while (stack.length > 0) {
			const top = stack[stack.length - 1]!;
			const needs = byKey.get(top.key)!.needs;
			if (top.next === needs.length) {
				stack.pop();
				state.set(top.key, 'done');
				continue;
			}
			const need = needs[top.next++]!;
			const seen = state.get(need);
			if (seen === 'done') continue;
			if (seen === 'visiting') {
				const keys = stack.map((frame) => frame.key);
				return [...keys.slice(keys.indexOf(need)), need];
			}
			state.set(need, 'visiting');
			stack.push({ key: need, next: 0 });
		}
		return null;
	};
	for (const task of tasks) {
		const cycle = visit(task.key);
		if (cycle) {
			// shown in the direction work flows: a → b means b needs a
			const shown = [...cycle].reverse().join(' → ');
			return [{ path: ['tasks', cycle[0], 'needs'], reason: `tasks: dependency cycle ${shown}` }];
		}
	}
	return [];
}

/** `['tasks', 'build', 'steps', 0, 'run']` → `tasks.build.steps[0].run` */
export function describePath(at: readonly PathKey[]): string {
	let out = '';
	for (const key of at) {
		out += typeof key === 'number' ? `[${key}]` : out === '' ? key : `.${key}`;
	}
	return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
	switch (issue.code) {
		case 'invalid_type':
			return valueAt(input, issue.path as PathKey[]) === undefined
				? 'required'
				: `must be ${article(issue.expected)}`;
		case 'unrecognized_keys':
			return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
		case 'too_small':
			if (issue.origin === 'array')
				return `needs at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`;
			if (issue.origin === 'string') return 'must not be empty';
			return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}`;
		case 'too_big':
			if (issue.origin === 'number' || issue.origin === 'bigint') return `must be at most ${issue.maximum}`;
			return issue.message;
		case 'invalid_key':
			// a variable's name with a NUL; any other key refused is a task's
			if (issue.issues[0]?.code === 'custom') return issue.issues[0].message;
			return "not a valid task key: start with a letter or '_', then letters, digits, '_' or '-'";
		case 'invalid_union':
			return 'has the wrong type';
		default:
			return issue.message;
	}
}

function article(expected: string): string {
	if (expected === 'record' || expected === 'object') return 'a mapping';
	if (expected === 'array') return 'a list';
	return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function valueAt(input: unknown, at: readonly PathKey[]): unknown {
	let value = input;
	for (const key of at) {
		if (value === null || typeof value !== 'object') return undefined;
		value = (value as Record<PathKey, unknown>)[key];
	}
	return value;
}

/**
 * The line of the deepest node on `at` that exists in the document (a missing key → its parent).
 * A mapping's entry is where its key is written: a block value starts on the line below it.
 */
function lineOf(doc: Document, lineCounter: LineCounter, at: readonly PathKey[]): number | null {
	for (let depth = at.length; depth >= 0; depth--) {
		const node = keyAt(doc, at.slice(0, depth)) ?? doc.getIn(at.slice(0, depth), true);
		if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
			return lineCounter.linePos(node.range[0]).line;
		}
	}
	return null;
}

/** The key node of the mapping entry `at` names, when its last step is a key of a mapping. */
function keyAt(doc: Document, at: readonly PathKey[]): unknown {
	if (at.length === 0) return undefined;
	const parent = doc.getIn(at.slice(0, -1), true);
	if (!isMap(parent)) return undefined;
	const name = String(at.at(-1));
	return parent.items.find((pair) => (isScalar(pair.key) ? String(pair.key.value) : pair.key) === name)?.key;
}

/**
 * The shown problems with their lines, and a count of the rest. Only shown problems are looked
 * up: each look-up scans the mappings on its path, so doing all of them is quadratic.
 */
function joinProblems(
	doc: Document,
	lineCounter: LineCounter,
	problems: { path: PathKey[]; reason: string }[]
): { reason: string; line: number | null } {
	let first: number | null = null;
	const shown = problems.slice(0, MAX_REASONS).map((problem) => {
		const where = lineOf(doc, lineCounter, problem.path);
		first ??= where;
		return where ? `line ${where}: ${problem.reason}` : problem.reason;
	});
	const more = problems.length - MAX_REASONS;
	const reason = shown.join('; ') + (more > 0 ? `; and ${more} more problem${more === 1 ? '' : 's'}` : '');
	return { reason, line: first };
}

/**
 * Repeated keys, a `__proto__` key (reading the file into objects would drop it without a word:
 * a task so named "unknown" to its dependants, a variable unset), aliases without an earlier
 * anchor, and too many anchors and aliases, in one pass.
 */
function checkNodes(doc: Document, lineCounter: LineCounter): { line: number; reason: string } | null {
	const anchors = new Set<string>();
	let anchorsAndAliases = 0;
	let problem: { line: number; reason: string } | null = null;
	const lineAt = (node: { range?: readonly number[] | null }) =>
		lineCounter.linePos(node.range?.[0] ?? 0).line;
	visit(doc, {
		Node(_key, node) {
			if (isAlias(node) || node.anchor) anchorsAndAliases++;
			if (anchorsAndAliases > MAX_ANCHORS_AND_ALIASES) {
				problem = {
					line: lineAt(node),
					reason: `more than ${MAX_ANCHORS_AND_ALIASES} anchors and aliases; write the repeated parts out or split the workflow`
				};
				return visit.BREAK;
			}
			if (isAlias(node)) {
				if (anchors.has(node.source)) return;
				problem = {
					line: lineAt(node),
					reason: `alias *${node.source} has no anchor &${node.source} before it`
				};
				return visit.BREAK;
			}
			if (node.anchor) anchors.add(node.anchor);
			if (!isMap(node)) return;
			const keys = new Set<unknown>();
			for (const pair of node.items) {
				if (!isScalar(pair.key)) continue;
				if (pair.key.value === '__proto__') {
					problem = {
						line: lineAt(pair.key),
						reason: "key '__proto__' cannot be used in a workflow; choose another name"
					};
					return visit.BREAK;
				}
				if (keys.has(pair.key.value)) {
					problem = {
						line: lineAt(pair.key),
						reason: `key '${String(pair.key.value)}' appears twice in the same mapping; keys must be unique`
					};
					return visit.BREAK;
				}
				keys.add(pair.key.value);
			}
		}
	});
	return problem;
}

/**
 * Values in `input`, a shared (aliased) part counted each time it appears; stops past `limit`.
 * Counted as they are found, so a list that holds itself (`&a [1, *a]`) stops it too.
 */
function countValues(input: unknown, limit: number): number {
	let count = 1;
	const stack: unknown[] = [input];
	while (stack.length > 0 && count <= limit) {
		const value = stack.pop();
		if (value === null || typeof value !== 'object') continue;
		for (const item of Object.values(value)) {
			stack.push(item);
			if (++count > limit) break;
		}
	}
	return count;
}
