/**
 * @module components/disclosure
 * A button that shows and hides a panel (the header's menu on a phone): Escape closes it and
 * gives focus back to the button, a press outside both closes it and leaves focus alone.
 *
 * @example
 * const menu = new Disclosure();
 * $effect(() => menu.listen(() => ({ button, panel })));
 */

export interface DisclosureParts {
	button: HTMLElement | undefined;
	panel: HTMLElement | undefined;
}

export class Disclosure {
	#open = $state(false);

	get open(): boolean {
		return this.#open;
	}

	toggle(): void {
		this.#open = !this.#open;
	}

	close(): void {
		this.#open = false;
	}

	/** Starts listening for Escape and presses outside; returns the function that stops. */
	listen(parts: () => DisclosureParts): () => void {
		const onKeydown = (event: KeyboardEvent) => {
			if (event.key !== 'Escape' || !this.#open) return;
			event.preventDefault();
			this.#open = false;
			parts().button?.focus();
		};
		const onPointerDown = (event: PointerEvent) => {
			if (!this.#open || !(event.target instanceof Node)) return;
			const { button, panel } = parts();
			if (!button?.contains(event.target) && !panel?.contains(event.target)) this.#open = false;
		};
		window.addEventListener('keydown', onKeydown);
		window.addEventListener('pointerdown', onPointerDown);
		return () => {
			window.removeEventListener('keydown', onKeydown);
			window.removeEventListener('pointerdown', onPointerDown);
		};
	}
}
