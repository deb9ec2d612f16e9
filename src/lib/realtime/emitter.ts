/**
 * @module realtime/emitter
 * A set of handlers called in order; one that throws is logged and does not stop the others,
 * so a bug in one store cannot silence the connection for the rest of the page. `emit` returns
 * what the handlers returned (a store's reload promise, say), so the caller can wait for them.
 */
export class Emitter<A extends unknown[], R = void> {
	readonly #handlers = new Set<(...args: A) => R>();

	get size(): number {
		return this.#handlers.size;
	}

	/** Adds a handler; returns the function that removes it. */
	add(handler: (...args: A) => R): () => void {
		this.#handlers.add(handler);
		return () => this.#handlers.delete(handler);
	}

	/** Calls every handler; returns the results of those that did not throw. */
	emit(...args: A): R[] {
		const results: R[] = [];
		// a copy: handlers may remove themselves (or others) while being called
		for (const handler of [...this.#handlers]) {
			try {
				results.push(handler(...args));
			} catch (err) {
				console.error('aco: a realtime handler threw', err);
			}
		}
		return results;
	}

	clear(): void {
		this.#handlers.clear();
	}
}
