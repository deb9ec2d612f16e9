/**
 * @module components/format
 * Words and numbers for the UI: statuses, durations, times, counts.
 */
import type { TaskStatus } from '$lib/protocol';

const STATUS_LABELS: Record<string, string> = {
	queued: 'Queued',
	running: 'Running',
	succeeded: 'Succeeded',
	failed: 'Failed',
	cancelled: 'Cancelled',
	interrupted: 'Interrupted'
};

export function statusLabel(status: TaskStatus | string): string {
	return STATUS_LABELS[status] ?? status.charAt(0).toUpperCase() + status.slice(1);
}

/** "850 ms", "12.3 s", "2 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number | null | undefined): string {
	if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
	if (ms < 1000) return `${Math.round(ms)} ms`;
	const seconds = ms / 1000;
	if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.floor(seconds)} s`;
	const total = Math.floor(seconds);
	const h = Math.floor(total / 3600);
	const m = Math.floor((total % 3600) / 60);
	const s = total % 60;
	if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
	return `${m} min ${String(s).padStart(2, '0')} s`;
}

/** How long something took, or has been running for as of `now`. */
export function elapsedMs(
	record: { started_at: string | null; finished_at?: string | null; duration_ms: number | null },
	now: number
): number | null {
	if (record.duration_ms !== null) return record.duration_ms;
	if (!record.started_at) return null;
	const end = record.finished_at ? Date.parse(record.finished_at) : now;
	return Math.max(0, end - Date.parse(record.started_at));
}

/** Local wall-clock time, e.g. "14:03:07". */
export function formatTime(iso: string | null | undefined): string {
	if (!iso) return '—';
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return '—';
	return date.toLocaleTimeString([], {
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit',
		hour12: false
	});
}

/** "5,000" */
export function formatCount(n: number): string {
	return n.toLocaleString('en-US');
}

export function plural(n: number, one: string, many = `${one}s`): string {
	return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** The last 8 characters of an id (the random part), enough to tell runs apart at a glance. */
export function shortId(id: string): string {
	return id.length > 8 ? id.slice(-8) : id;
}

/** "14:03:07" today, "2 Dec 14:03" on another day. */
export function formatDateTime(iso: string | null | undefined, now = Date.now()): string {
	if (!iso) return '—';
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return '—';
	if (new Date(now).toDateString() === date.toDateString()) return formatTime(iso);
	return date.toLocaleString([], {
		day: 'numeric',
		month: 'short',
		hour: '2-digit',
		minute: '2-digit',
		hour12: false
	});
}
