/**
 * @module orchestrator/workflow-loader
 * Reads every `*.yml` / `*.yaml` file at the top of the workflows folder. One broken file is
 * reported with its path and reason and never stops the others from loading.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowLoadError, WorkflowSummary } from '../../protocol';
import { parseWorkflowFile, type WorkflowDef } from './workflow-file';

export interface LoadedWorkflows {
	/** sorted by name */
	workflows: WorkflowDef[];
	/** sorted by file */
	errors: WorkflowLoadError[];
}

const WORKFLOW_FILE = /\.ya?ml$/i;

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
		let text: string;
		try {
			text = await fs.readFile(file, 'utf8');
		} catch (err) {
			errors.push({ file, reason: `cannot be read: ${(err as Error).message}` });
			continue;
		}
		const result = parseWorkflowFile(text, file);
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
