/**
 * @module realtime/record-load
 * How a live view of one record (a task, a run) loads it over REST: calls made while a load runs
 * share it plus one more after it, so an event that asks for a reload mid-load gets a load that
 * began after the event, and there are never two at once; and how a failed load shows.
 */

export type RecordLoadStatus = 'loading' | 'ready' | 'not_found' | 'error';

/**
 * Wraps one load into a function that coalesces concurrent calls.
 * @example this.load = coalescedLoad(() => this.#loadOnce());
 */
export function coalescedLoad(loadOnce: () => Promise<void>): () => Promise<void> {
	let loading: Promise<void> | null = null;
	let again = false;
	return () => {
		if (loading) {
			again = true;
			return loading;
		}
		loading = (async () => {
			do {
				again = false;
				await loadOnce();
			} while (again);
		})().finally(() => (loading = null));
		return loading;
	};
}

/** what a view shows after its load failed: not found for a 404, else the error */
export function loadFailure(err: unknown): { status: 'not_found' | 'error'; error: string } {
	const status = (err as { status?: number } | null)?.status;
	return {
		status: status === 404 ? 'not_found' : 'error',
		error: err instanceof Error ? err.message : String(err)
	};
}
