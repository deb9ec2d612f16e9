/**
 * @module notifications/toast-dodge
 * Toasts never cover the control a person is reaching for: when the pointer rests on a control
 * that lies partly under the toasts, or the keyboard focuses one, the toasts move between the
 * bottom and the top of the screen. Both are on the right, on a wide screen and a phone alike:
 * the left edge is where a log's line numbers are. Pointing at a toast itself moves nothing, so
 * its own link and Dismiss stay where they are.
 */

export type ToastSide = 'bottom-right' | 'top-right';

const CONTROLS =
	'a[href], button, input, select, textarea, summary, [role="button"], [role="radio"], [tabindex]';

/** where toasts go at first */
export const DEFAULT_SIDE: ToastSide = 'bottom-right';

export interface Rect {
	left: number;
	top: number;
	right: number;
	bottom: number;
}

export function overlaps(a: Rect, b: Rect): boolean {
	return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** the other side */
export function otherSide(side: ToastSide): ToastSide {
	return side === 'bottom-right' ? 'top-right' : 'bottom-right';
}

export interface DodgeOptions {
	/** the toasts' container element */
	container: () => HTMLElement | null;
	side: () => ToastSide;
	setSide: (side: ToastSide) => void;
}

/** The area the visible toasts cover, or null when none shows. */
export function toastArea(container: HTMLElement | null): Rect | null {
	if (!container) return null;
	let area: Rect | null = null;
	for (const bar of container.querySelectorAll<HTMLElement>('.base')) {
		const r = bar.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) continue;
		area = area
			? {
					left: Math.min(area.left, r.left),
					top: Math.min(area.top, r.top),
					right: Math.max(area.right, r.right),
					bottom: Math.max(area.bottom, r.bottom)
				}
			: { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
	}
	return area;
}

/** Starts watching the pointer and focus; returns the function that stops. */
export function startToastDodge(options: DodgeOptions): () => void {
	let frame = 0;
	let lastTarget: EventTarget | null = null;

	function check(target: EventTarget | null): void {
		const container = options.container();
		if (!(target instanceof Element) || !container || container.contains(target)) return;
		const control = target.closest(CONTROLS);
		if (!control) return;
		const area = toastArea(container);
		if (area && overlaps(control.getBoundingClientRect(), area)) {
			options.setSide(otherSide(options.side()));
		}
	}

	const onPointerMove = (event: PointerEvent) => {
		lastTarget = event.target;
		if (frame) return;
		frame = requestAnimationFrame(() => {
			frame = 0;
			check(lastTarget);
		});
	};
	const onFocusIn = (event: FocusEvent) => check(event.target);
	window.addEventListener('pointermove', onPointerMove, { passive: true });
	window.addEventListener('focusin', onFocusIn);
	return () => {
		window.removeEventListener('pointermove', onPointerMove);
		window.removeEventListener('focusin', onFocusIn);
		if (frame) cancelAnimationFrame(frame);
	};
}
