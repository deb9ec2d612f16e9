/**
 * @module components/paths
 * Links to aco's pages and downloads, resolved against the app's base path.
 */
import { resolve } from '$app/paths';
import type { ResolvedPathname } from '$app/types';

export function taskHref(taskId: string): ResolvedPathname {
	return resolve('/tasks/[id]', { id: encodeURIComponent(taskId) });
}

/** The complete log of an execution as a text attachment (the server streams it, also mid-run). */
export function logDownloadHref(executionId: string): ResolvedPathname {
	return resolve('/api/v1/executions/[id]/log', { id: encodeURIComponent(executionId) });
}

export function dashboardHref(): ResolvedPathname {
	return resolve('/');
}
