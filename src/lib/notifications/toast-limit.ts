/**
 * @module notifications/toast-limit
 * At most a few toasts on screen: when one more shows, the oldest success goes first, then the
 * oldest notice, then the oldest failure (which stays in the notification centre). Works on svelte-french-toast's
 * store, so it covers every toast, including those of `handleError`.
 */
import toast, { useToasterStore, type Toast } from 'svelte-french-toast';

export const MAX_VISIBLE_TOASTS = 3;

/** Which toasts to dismiss so that at most `max` stay visible. */
export function toastsOverLimit(
	toasts: readonly Pick<Toast, 'id' | 'type' | 'visible' | 'createdAt'>[],
	max: number
): string[] {
	const visible = toasts.filter((t) => t.visible).sort((a, b) => a.createdAt - b.createdAt);
	const excess = visible.length - max;
	if (excess <= 0) return [];
	// successes first, then notices, failures last (they matter most and stay in the centre anyway)
	const rank = (t: Pick<Toast, 'type'>) => (t.type === 'success' ? 0 : t.type === 'error' ? 2 : 1);
	const order = [...visible].sort((a, b) => rank(a) - rank(b) || a.createdAt - b.createdAt);
	return order.slice(0, excess).map((t) => t.id);
}

/** Starts limiting; returns the function that stops. */
export function limitVisibleToasts(max = MAX_VISIBLE_TOASTS): () => void {
	const { toasts } = useToasterStore();
	return toasts.subscribe((list) => {
		for (const id of toastsOverLimit(list, max)) toast.dismiss(id);
	});
}
