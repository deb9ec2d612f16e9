/**
 * @module orchestrator/workflow-loader
 * Reads every `*.yml` / `*.yaml` file at the top of the workflows folder. One broken file is
 * reported with its path and reason and never stops the others from loading.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowLoadError, WorkflowSummary } from '../../protocol';
import { openRegularFile } from '../regular-file';
import { parseWorkflowFile, type ParseResult, type WorkflowDef } from './workflow-file';

export interface LoadedWorkflows {
	/** sorted by name */
	workflows: WorkflowDef[];
	/** sorted by file */
	errors: WorkflowLoadError[];
}

const WORKFLOW_FILE = /\.ya?ml$/i;
/** a workflow is a page or two of YAML; parsing runs on every listing and takes about 1 s per MiB */
export const MAX_WORKFLOW_BYTES = 1024 * 1024;

/**
 * Loads the workflows in `dir` (not its subfolders, which hold the workflows' helper scripts).
 * Files are read in name order, so when two declare the same name the first one wins.
 */
export async function loadWorkflows(dir: string): Promise<LoadedWorkflows> {
	let entries: string[];
	try {
		const dirents = await fs.readdir(dir, { withFileTypes: true });
		entries = dirents
			.filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && WORKFLOW_FILE.test(entry.name))
			.map((entry) => entry.name)
			.sort();
	} catch (err) {
		const reason =
			(err as NodeJS.ErrnoException).code === 'ENOENT'
				? 'the workflows folder does not exist'
				: `the workflows folder cannot be read: ${(err as Error).message}`;
		return { workflows: [], errors: [{ file: dir, reason }] };
	}

	const byName = new Map<string, WorkflowDef>();
	const errors: WorkflowLoadError[] = [];
	for (const entry of entries) {
		const file = path.join(dir, entry);
		const read = await readWorkflowFile(file);
		if ('reason' in read) {
			errors.push({ file, reason: read.reason });
			continue;
		}
		let result: ParseResult;
		try {
			result = parseWorkflowFile(read.text, file);
		} catch (err) {
			errors.push({ file, reason: `cannot be parsed: ${(err as Error).message}` });
			continue;
		}
		if (!result.ok) {
			errors.push(result.error);
			continue;
		}
		const first = byName.get(result.workflow.name);
		if (first) {
			errors.push({
				file,
				reason: `duplicate workflow name '${result.workflow.name}' (already defined in ${path.basename(first.file)})`
			});
			continue;
		}
		byName.set(result.workflow.name, result.workflow);
	}
	const workflows = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
	return { workflows, errors };
}

/** The text of a regular file of at most `MAX_WORKFLOW_BYTES`, or why not. */
async function readWorkflowFile(file: string): Promise<{ text: string } | { reason: string }> {
	const opened = await openRegularFile(file);
	if ('reason' in opened) return opened;
	const { handle, size } = opened;
	try {
		if (size > MAX_WORKFLOW_BYTES) {
			const kib = Math.ceil(size / 1024);
			return { reason: `is ${kib} KiB; a workflow file may be at most ${MAX_WORKFLOW_BYTES / 1024} KiB` };
		}
		return { text: await handle.readFile('utf8') };
	} catch (err) {
		return { reason: `cannot be read: ${(err as Error).message}` };
	} finally {
		await handle.close();
	}
}

/** The public view of a workflow, as `GET /api/v1/workflows` lists it. */
export function toWorkflowSummary(workflow: WorkflowDef): WorkflowSummary {
	return {
		name: workflow.name,
		description: workflow.description,
		file: workflow.file,
		tasks: workflow.tasks.map((task) => ({
			key: task.key,
			name: task.name,
			needs: task.needs,
			steps: task.steps.length,
			optional: task.optional
		}))
	};
}
