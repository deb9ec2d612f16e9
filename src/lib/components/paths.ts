/**
 * @module components/paths
 * Links to aco's pages and downloads, resolved against the app's base path.
 */
import { resolve } from '$app/paths';
import type { ResolvedPathname } from '$app/types';

export function taskHref(taskId: string): ResolvedPathname {
	return resolve('/tasks/[id]', { id: encodeURIComponent(taskId) });
}

export function runHref(runId: string): ResolvedPathname {
	return resolve('/runs/[id]', { id: encodeURIComponent(runId) });
}

export function runsHref(): ResolvedPathname {
	return resolve('/runs');
}

export function workflowHref(name: string): ResolvedPathname {
	return resolve('/workflows/[name]', { name: encodeURIComponent(name) });
}

export function workflowsHref(): ResolvedPathname {
	return resolve('/workflows');
}

/** The complete log of an execution as a text attachment (the server streams it, also mid-run). */
export function logDownloadHref(executionId: string): ResolvedPathname {
	return resolve('/api/v1/executions/[id]/log', { id: encodeURIComponent(executionId) });
}

/** Every step of a task, each after a header ("Download all"). */
export function taskLogDownloadHref(taskId: string): ResolvedPathname {
	return resolve('/api/v1/tasks/[id]/log', { id: encodeURIComponent(taskId) });
}

/** Every step of every task of a run, each after a header. */
export function runLogDownloadHref(runId: string): ResolvedPathname {
	return resolve('/api/v1/runs/[id]/log', { id: encodeURIComponent(runId) });
}

export function dashboardHref(): ResolvedPathname {
	return resolve('/');
}
