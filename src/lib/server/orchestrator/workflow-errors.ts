/**
 * @module orchestrator/workflow-errors
 * Why a workflow cannot start, in one shape for the CLI, the REST API and the dashboard:
 * - a file that does not load → `workflow_invalid` (HTTP 422) with the workflow's name, its
 *   file, the line and the problem;
 * - a name nothing goes by → `workflow_not_found` (HTTP 404) listing the workflows there are,
 *   with the closest one as a suggestion ("did you mean demo?");
 * - a run stored but not planned (the store failed, the disk is full) → `run_not_started`
 *   (HTTP 503) naming the cause and what became of the run.
 *
 * A broken file is found by the `name:` it declares or by its file name (`broken.yml` → broken).
 * Errors are matched by `code`, not `instanceof`: SvelteKit's routes and server.ts are separate
 * bundles with separate copies of these classes.
 */
import path from 'node:path';
import leven from 'leven';
import type { WorkflowLoadError } from '../../protocol';
import { isStoreUnavailable } from '../store/errors';

export const WORKFLOW_INVALID = 'workflow_invalid';
export const WORKFLOW_NOT_FOUND = 'workflow_not_found';
export const RUN_NOT_STARTED = 'run_not_started';

/** the `details` of a `workflow_invalid` error */
export interface WorkflowInvalidDetails {
	workflow: string;
	file: string;
	line: number | null;
	reason: string;
}

/** the `details` of a `workflow_not_found` error */
export interface WorkflowNotFoundDetails {
	workflows: string[];
	/** the closest name, when one is close enough to be a typo */
	suggestion: string | null;
}

const WORKFLOW_FILE = /\.ya?ml$/i;

/** `broken.yml` → `broken` */
export function fileStem(file: string): string {
	return path.basename(file).replace(WORKFLOW_FILE, '');
}

/** The name a file that does not load would go by: its `name:`, else its file name. */
function nameOf(error: WorkflowLoadError): string | null {
	if (error.name) return error.name;
	return WORKFLOW_FILE.test(error.file) ? fileStem(error.file) : null;
}

/** The load error of the file that would define `name`, if one does not load. */
export function brokenWorkflow(
	name: string,
	errors: readonly WorkflowLoadError[]
): WorkflowLoadError | undefined {
	return errors.find((e) => nameOf(e) === name);
}

/** The name `wanted` was probably meant to be: the nearest within a third of its length. */
export function closestName(wanted: string, names: readonly string[]): string | null {
	const lower = wanted.toLowerCase();
	const limit = Math.max(1, Math.floor(wanted.length / 3));
	let best: string | null = null;
	let bestDistance = limit + 1;
	for (const name of names) {
		const candidate = name.toLowerCase();
		const distance = candidate.startsWith(lower) || lower.startsWith(candidate) ? 1 : leven(lower, candidate);
		if (distance < bestDistance) {
			best = name;
			bestDistance = distance;
		}
	}
	return best;
}

/** Thrown by startRun for a workflow whose file does not load. */
export class WorkflowInvalidError extends Error {
	readonly code = WORKFLOW_INVALID;
	readonly details: WorkflowInvalidDetails;

	constructor(name: string, error: WorkflowLoadError) {
		const line = error.line ?? null;
		// the reason starts with "line N: " when it has a line; the message names the file once
		const problem = error.reason.replace(/^line \d+: /, '');
		super(
			`Workflow "${name}" does not load: ${path.basename(error.file)}${line ? ` line ${line}` : ''}: ${problem}`
		);
		this.details = { workflow: name, file: error.file, line, reason: error.reason };
	}
}

/** Thrown by startRun for a name no workflow goes by. */
export class WorkflowNotFoundError extends Error {
	readonly code = WORKFLOW_NOT_FOUND;
	readonly details: WorkflowNotFoundDetails;

	constructor(name: string, names: readonly string[] = []) {
		const sorted = [...names].sort();
		const suggestion = closestName(name, sorted);
		const hint = suggestion ? ` Did you mean "${suggestion}"?` : '';
		const list = sorted.length ? ` Workflows: ${sorted.join(', ')}.` : ' There are no workflows.';
		super(`No workflow named "${name}".${hint}${list}`);
		this.details = { workflows: sorted, suggestion };
	}
}

/** The error startRun throws for `name`, given what the workflows folder holds. */
export function workflowStartError(
	name: string,
	loaded: { workflows: readonly { name: string }[]; errors: readonly WorkflowLoadError[] }
): WorkflowInvalidError | WorkflowNotFoundError {
	const broken = brokenWorkflow(name, loaded.errors);
	if (broken) return new WorkflowInvalidError(name, broken);
	const names = [...loaded.workflows.map((w) => w.name), ...loaded.errors.map(nameOf)];
	return new WorkflowNotFoundError(name, [...new Set(names.filter((n): n is string => n !== null))]);
}

/**
 * Why a store write failed, fit for a run's error that anyone may read: an unreachable
 * database is named as such (its driver's message may name the host), anything else by its message.
 */
export function storeFailureReason(err: unknown): string {
	if (isStoreUnavailable(err)) return 'the database could not be reached';
	return err instanceof Error ? err.message : String(err);
}

/** what became of a run whose first plan failed */
export type UnplannedRun = 'failed' | 'open' | 'open-shared';

const UNPLANNED_OUTCOME: Record<UnplannedRun, string> = {
	failed: 'The run is marked failed; start it again once that is fixed.',
	open: 'The run could not be marked failed either; it is marked interrupted when the server starts again.',
	'open-shared': 'The run stays open; a node plans it again once the database answers.'
};

/** Thrown by startRun when the run was stored but planning it failed. */
export class RunNotStartedError extends Error {
	readonly code = RUN_NOT_STARTED;
	readonly details: { run_id: string; outcome: UnplannedRun };

	constructor(name: string, runId: string, reason: string, outcome: UnplannedRun, cause: unknown) {
		super(
			`Workflow "${name}" did not start: planning its run failed (${reason}). ${UNPLANNED_OUTCOME[outcome]}`,
			{
				cause
			}
		);
		this.details = { run_id: runId, outcome };
	}
}
