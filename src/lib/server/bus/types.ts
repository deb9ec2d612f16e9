/**
 * @module bus/types
 * Events flow from producers (orchestrator, ingest) to consumers (the hub) through a bus, so a
 * Redis-backed bus can fan them out across nodes without touching either side.
 */
import type { AnyDomainEvent } from '../../protocol';

export type BusListener = (event: AnyDomainEvent) => void;

export interface EventBus {
	publish(event: AnyDomainEvent): void;
	/** returns the unsubscribe function */
	subscribe(listener: BusListener): () => void;
	close(): Promise<void>;
}
