/**
 * @module realtime/emitter
 * A set of handlers called in order; one that throws is logged and does not stop the others,
 * so a bug in one store cannot silence the connection for the rest of the page.
 */
export class Emitter<A extends unknown[]> {
	readonly #handlers = new Set<(...args: A) => void>();

	get size(): number {
		return this.#handlers.size;
	}

	/** Adds a handler; returns the function that removes it. */
	add(handler: (...args: A) => void): () => void {
		this.#handlers.add(handler);
		return () => this.#handlers.delete(handler);
	}

	emit(...args: A): void {
		// a copy: handlers may remove themselves (or others) while being called
		for (const handler of [...this.#handlers]) {
			try {
				handler(...args);
			} catch (err) {
				console.error('aco: a realtime handler threw', err);
			}
		}
	}

	clear(): void {
		this.#handlers.clear();
	}
}
