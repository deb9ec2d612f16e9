/**
 * @module workflow-detail
 * One workflow as `GET /api/v1/workflows/{name}` shows it: its summary, the YAML it was read
 * from, and when the file does not load, the reason with its line. A broken file has no name
 * of its own yet, so it is found by its file name (`broken.yml` → `broken`) or by a `name:` line.
 * The YAML is shown with the values of its secret variables masked (masking/workflow-source).
 *
 * Masking parses the YAML (about 1 s per MiB on the event loop), so `WorkflowSources` keeps what
 * each file shows while the file is unchanged (orchestrator/parse-cache), as the listing does with
 * its parse results: a second view of an unchanged file costs a `stat`.
 *
 * @example
 * const sources = new WorkflowSources(secretNameTest(config.maskEnv)); // one per folder
 * const detail = await workflowDetail(name, await orchestrator.listWorkflows(), sources);
 */
import path from 'node:path';
import type { WorkflowDetailResponse, WorkflowLoadError, WorkflowSummary } from '../protocol';
import type { SecretNameTest } from './masking/secret-env';
import { redactWorkflowSource } from './masking/workflow-source';
import { ParseCache, type FileText, type ParseCacheOptions } from './orchestrator/parse-cache';
import { openRegularFile } from './regular-file';

/** larger sources are cut (a workflow file is a few KiB) */
export const MAX_SOURCE_BYTES = 256 * 1024;

/** `broken.yml` → `broken`: how the pages link to a file that did not load */
export function fileStem(file: string): string {
	return path.basename(file).replace(/\.ya?ml$/i, '');
}

/** The first `line N` a reason names (`line 7: tasks.build.steps[0].run: required`). */
export function reasonLine(reason: string): number | null {
	const match = /\bline (\d+)\b/.exec(reason);
	return match ? Number(match[1]) : null;
}

/** what the detail shows of one file; kept shared and frozen, so never changed */
interface ShownSource {
	/** the first MAX_SOURCE_BYTES, secret values masked */
	source: string;
	truncated: boolean;
	/** the `name:` line of the file as read, for finding a broken file (never shown as it is) */
	declaredName: string | null;
}

/**
 * The masked source of each file of one folder, kept while the file is unchanged. Made for one
 * secret test (the server's, which does not change while it runs): what it keeps was masked
 * with it.
 */
export class WorkflowSources {
	#isSecret: SecretNameTest;
	#cache: ParseCache<ShownSource>;

	constructor(isSecret: SecretNameTest, options: ParseCacheOptions = {}) {
		this.#isSecret = isSecret;
		this.#cache = new ParseCache<ShownSource>(options);
	}

	/** files kept */
	get size(): number {
		return this.#cache.size;
	}

	/** Forgets every file but `files` (the ones the folder no longer has). */
	retain(files: ReadonlySet<string>): void {
		this.#cache.retain(files);
	}

	/** What `file` shows, or null for what is not a regular file or cannot be read (regular-file). */
	async get(file: string): Promise<ShownSource | null> {
		const shown = await this.#cache.get(file, readSourceBytes, (bytes) => this.#show(bytes));
		return 'reason' in shown ? null : shown;
	}

	#show(bytes: string): ShownSource {
		const raw = Buffer.from(bytes, 'latin1');
		const source = raw.subarray(0, MAX_SOURCE_BYTES).toString('utf8');
		return {
			source: redactWorkflowSource(source, this.#isSecret),
			truncated: raw.length > MAX_SOURCE_BYTES,
			declaredName: declaredName(source)
		};
	}
}

/**
 * The first MAX_SOURCE_BYTES + 1 bytes, one latin1 character each: the cut falls on the same byte
 * however the text decodes, and a file grown past the limit hashes differently from its first
 * MAX_SOURCE_BYTES (parse-cache keeps a value while the hash of this text is the same).
 */
async function readSourceBytes(file: string): Promise<FileText> {
	const opened = await openRegularFile(file);
	if ('reason' in opened) return opened;
	const { handle } = opened;
	try {
		const buffer = Buffer.alloc(MAX_SOURCE_BYTES + 1);
		const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
		return { text: buffer.subarray(0, bytesRead).toString('latin1') };
	} catch (err) {
		return { reason: `cannot be read: ${(err as Error).message}` };
	} finally {
		await handle.close();
	}
}

function declaredName(source: string): string | null {
	const match = /^name:\s*['"]?([A-Za-z0-9][A-Za-z0-9_.-]*)['"]?\s*(#.*)?$/m.exec(source);
	return match ? match[1] : null;
}

/**
 * The detail of `name`, or null when neither a workflow nor a broken file goes by it; `sources`
 * (one per folder) masks the values of the secret variables as `***` and keeps what it shows.
 */
export async function workflowDetail(
	name: string,
	listed: { workflows: WorkflowSummary[]; errors: WorkflowLoadError[] },
	sources: WorkflowSources
): Promise<WorkflowDetailResponse | null> {
	sources.retain(new Set([...listed.workflows, ...listed.errors].map((listing) => listing.file)));
	const workflow = listed.workflows.find((candidate) => candidate.name === name);
	if (workflow) {
		const shown = await sources.get(workflow.file);
		return {
			name,
			workflow,
			file: workflow.file,
			source: shown?.source ?? null,
			source_truncated: shown?.truncated ?? false,
			error: null
		};
	}
	for (const error of listed.errors) {
		const shown = await sources.get(error.file);
		if (fileStem(error.file) !== name && shown?.declaredName !== name) continue;
		return {
			name,
			workflow: null,
			file: error.file,
			source: shown?.source ?? null,
			source_truncated: shown?.truncated ?? false,
			error: { file: error.file, reason: error.reason, line: reasonLine(error.reason) }
		};
	}
	return null;
}
