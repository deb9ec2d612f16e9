/**
 * @module orchestrator/workflow-loader
 * Reads every `*.yml` / `*.yaml` file at the top of the workflows folder. One broken file is
 * reported with its path and reason and never stops the others from loading. With a
 * `WorkflowCache` (one per folder, owned by whoever lists it), a file is parsed again only once it
 * changed (see parse-cache); the folder itself is read every time, so added, removed and renamed
 * files show at once.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowLoadError, WorkflowSummary } from '../../protocol';
import { openRegularFile } from '../regular-file';
import { ParseCache, type FileText, type ParseCacheOptions } from './parse-cache';
import type { ParseResult, WorkflowDef } from './workflow-file';
import { parseWorkflowOffLoop, type ParseThreads } from './workflow-parse';

export interface LoadedWorkflows {
	/** sorted by name */
	workflows: WorkflowDef[];
	/** sorted by file */
	errors: WorkflowLoadError[];
}

const WORKFLOW_FILE = /\.ya?ml$/i;
/** a workflow is a page or two of YAML; parsing takes about 1 s per MiB (see workflow-parse) */
export const MAX_WORKFLOW_BYTES = 1024 * 1024;

/** each file's parse result, kept while the file is unchanged; shared, so never changed by callers */
export type WorkflowCache = ParseCache<ParseResult>;

export function createWorkflowCache(options: ParseCacheOptions = {}): WorkflowCache {
	return new ParseCache<ParseResult>(options);
}

export interface LoadOptions {
	/** without one, every file is read and parsed */
	cache?: WorkflowCache;
	/** a large file's parse thread failed (it was parsed on the event loop instead) */
	onThreadFailed?: (file: string, err: unknown) => void;
	/** the owner of the large files' parse threads, which stops them on shutdown (see workflow-parse) */
	threads?: ParseThreads;
}

/**
 * Loads the workflows in `dir` (not its subfolders, which hold the workflows' helper scripts).
 * Files are read in name order, so when two declare the same name the first one wins.
 * @example
 * const cache = createWorkflowCache();
 * const { workflows, errors } = await loadWorkflows(dir, { cache });
 */
export async function loadWorkflows(dir: string, options: LoadOptions = {}): Promise<LoadedWorkflows> {
	const { cache, onThreadFailed, threads } = options;
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
		cache?.retain(new Set());
		return { workflows: [], errors: [{ file: dir, reason }] };
	}

	const files = entries.map((entry) => path.join(dir, entry));
	cache?.retain(new Set(files));
	const byName = new Map<string, WorkflowDef>();
	const errors: WorkflowLoadError[] = [];
	for (const file of files) {
		const parse = (text: string) =>
			parseWorkflowOffLoop(text, file, {
				threads,
				onThreadFailed: onThreadFailed && ((err) => onThreadFailed(file, err))
			});
		const result = cache ? await cache.get(file, readWorkflowFile, parse) : await readAndParse(file, parse);
		if ('reason' in result) {
			errors.push({ file, reason: result.reason });
			continue;
		}
		if (!result.ok) {
			errors.push({ ...result.error });
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

async function readAndParse(
	file: string,
	parse: (text: string) => Promise<ParseResult>
): Promise<ParseResult | { reason: string }> {
	const read = await readWorkflowFile(file);
	return 'reason' in read ? read : parse(read.text);
}

/** The text of a regular file of at most `MAX_WORKFLOW_BYTES`, or why not. */
async function readWorkflowFile(file: string): Promise<FileText> {
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
