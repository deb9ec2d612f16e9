/**
 * @module bus/memory-bus
 * The in-process event bus: synchronous fan-out to local listeners. A listener that throws is
 * reported and does not stop delivery to the others.
 */
import type { AnyDomainEvent } from '../../protocol';
import type { BusListener, EventBus } from './types';

export class MemoryBus implements EventBus {
	#listeners = new Set<BusListener>();
	#closed = false;
	#onError: (err: unknown) => void;

	constructor(options: { onError?: (err: unknown) => void } = {}) {
		this.#onError = options.onError ?? ((err) => console.error('[bus] listener failed', err));
	}

	publish(event: AnyDomainEvent): void {
		if (this.#closed) return;
		for (const listener of this.#listeners) {
			try {
				listener(event);
			} catch (err) {
				this.#onError(err);
			}
		}
	}

	subscribe(listener: BusListener): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	async close(): Promise<void> {
		this.#closed = true;
		this.#listeners.clear();
	}
}
