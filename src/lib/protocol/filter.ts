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

export function matchesFilter(filter: EventFilter, event: DomainEvent): boolean {
	if (!typeMatches(filter.types, event.type)) return false;
	const data = event.data as { task_id?: string; run_id?: string | null };
	const hasTasks = !!filter.task_ids?.length;
	const hasRuns = !!filter.run_ids?.length;
	if (hasTasks || hasRuns) {
		const inTasks = hasTasks && data.task_id !== undefined && filter.task_ids!.includes(data.task_id);
		const inRuns = hasRuns && !!data.run_id && filter.run_ids!.includes(data.run_id);
		if (!inTasks && !inRuns) return false;
	}
	if (filter.statuses?.length) {
		const status = eventStatus(event);
		if (status === null || !(filter.statuses as string[]).includes(status)) return false;
	}
	return true;
}

/** Whether a subscription asks for a stream type such as `system.stats`: only by naming it in `types`. */
export function wantsStream(filter: EventFilter, type: StreamType): boolean {
	return !!filter.types?.includes(type);
}
