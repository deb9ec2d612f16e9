/**
 * @module workflow-detail
 * One workflow as `GET /api/v1/workflows/{name}` shows it: its summary, the YAML it was read
 * from, and when the file does not load, the reason with its line. A broken file has no name
 * of its own yet, so it is found by its file name (`broken.yml` → `broken`) or by a `name:` line.
 * The YAML is shown with the values of its secret variables masked (masking/workflow-source).
 */
import path from 'node:path';
import type { WorkflowDetailResponse, WorkflowLoadError, WorkflowSummary } from '../protocol';
import type { SecretNameTest } from './masking/secret-env';
import { redactWorkflowSource } from './masking/workflow-source';
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

/**
 * the file as read, for finding a broken file by its `name:` line (never shown as it is); null
 * for what is not a regular file (regular-file)
 */
async function readSource(file: string): Promise<{ source: string | null; truncated: boolean }> {
	const opened = await openRegularFile(file);
	if ('reason' in opened) return { source: null, truncated: false };
	const { handle } = opened;
	try {
		const buffer = Buffer.alloc(MAX_SOURCE_BYTES + 1);
		const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
		const truncated = bytesRead > MAX_SOURCE_BYTES;
		return {
			source: buffer.subarray(0, Math.min(bytesRead, MAX_SOURCE_BYTES)).toString('utf8'),
			truncated
		};
	} catch {
		return { source: null, truncated: false };
	} finally {
		await handle.close();
	}
}

function declaredName(source: string | null): string | null {
	const match = source ? /^name:\s*['"]?([A-Za-z0-9][A-Za-z0-9_.-]*)['"]?\s*(#.*)?$/m.exec(source) : null;
	return match ? match[1] : null;
}

/**
 * The detail of `name`, or null when neither a workflow nor a broken file goes by it;
 * `isSecret` names the variables whose values the source shows as `***`.
 */
export async function workflowDetail(
	name: string,
	listed: { workflows: WorkflowSummary[]; errors: WorkflowLoadError[] },
	isSecret: SecretNameTest
): Promise<WorkflowDetailResponse | null> {
	const shown = (source: string | null) => (source === null ? null : redactWorkflowSource(source, isSecret));
	const workflow = listed.workflows.find((candidate) => candidate.name === name);
	if (workflow) {
		const { source, truncated } = await readSource(workflow.file);
		return {
			name,
			workflow,
			file: workflow.file,
			source: shown(source),
			source_truncated: truncated,
			error: null
		};
	}
	for (const error of listed.errors) {
		const { source, truncated } = await readSource(error.file);
		if (fileStem(error.file) !== name && declaredName(source) !== name) continue;
		return {
			name,
			workflow: null,
			file: error.file,
			source: shown(source),
			source_truncated: truncated,
			error: { file: error.file, reason: error.reason, line: reasonLine(error.reason) }
		};
	}
	return null;
}
