/**
 * @module protocol/filter
 * Whether an event matches a subscription filter. Scope (task ids ∪ run ids) decides which
 * tasks and runs; types and statuses narrow further. Empty lists mean "any".
 */
import { eventStatus, type DomainEvent } from './events';
import type { EventFilter, StreamType } from './messages';

export function typeMatches(patterns: readonly string[] | undefined, type: string): boolean {
	if (!patterns || patterns.length === 0) return true;
	for (const p of patterns) {
		if (p === type) return true;
		if (p.endsWith('.*') && type.startsWith(p.slice(0, -1))) return true;
	}
	return false;
}

/** What a filter looks at in an event, kept apart from its payload (history holds only this). */
export interface EventRoute {
	type: string;
	taskId: string | null;
	runId: string | null;
	status: string | null;
}

export function routeOf(event: DomainEvent): EventRoute {
	const data = event.data as { task_id?: string; run_id?: string | null };
	return {
		type: event.type,
		taskId: data.task_id ?? null,
		runId: data.run_id ?? null,
		status: eventStatus(event)
	};
}

export function matchesFilter(filter: EventFilter, event: DomainEvent): boolean {
	const data = event.data as { task_id?: string; run_id?: string | null };
	return matches(filter, event.type, data.task_id ?? null, data.run_id ?? null, event);
}

export function matchesRoute(filter: EventFilter, route: EventRoute): boolean {
	return matches(filter, route.type, route.taskId, route.runId, route.status);
}

function matches(
	filter: EventFilter,
	type: string,
	taskId: string | null,
	runId: string | null,
	status: string | null | DomainEvent
): boolean {
	if (!typeMatches(filter.types, type)) return false;
	const hasTasks = !!filter.task_ids?.length;
	const hasRuns = !!filter.run_ids?.length;
	if (hasTasks || hasRuns) {
		const inTasks = hasTasks && taskId !== null && filter.task_ids!.includes(taskId);
		const inRuns = hasRuns && !!runId && filter.run_ids!.includes(runId);
		if (!inTasks && !inRuns) return false;
	}
	if (filter.statuses?.length) {
		// the status is looked up only when a filter asks for one
		const value = typeof status === 'object' && status !== null ? eventStatus(status) : status;
		if (value === null || !(filter.statuses as string[]).includes(value)) return false;
	}
	return true;
}

/** Whether a subscription asks for a stream type such as `system.stats`: only by naming it in `types`. */
export function wantsStream(filter: EventFilter, type: StreamType): boolean {
	return !!filter.types?.includes(type);
}
