/**
 * @module context
 * Builds the parts of one aco node (store, bus, orchestrator, hub) from a config and tears
 * them down in order. `server.ts` and the dev plugin both use it; routes reach the result
 * through `event.locals.aco` (see global.ts), never by importing these modules' state.
 */
import fs from 'node:fs';
import type { AcoConfig } from './config';
import { lockDataDir } from './data-lock';
import { DiskGuard } from './disk-guard';
import { createLogger, type Logger } from './logger';
import { MemoryBus } from './bus/memory-bus';
import type { EventBus } from './bus/types';
import { openSqliteStore } from './store/sqlite-store';
import type { Store } from './store/types';
import { createOrchestrator } from './orchestrator/orchestrator';
import type { Orchestrator } from './orchestrator/types';
import { createHub } from './hub/hub';
import type { Hub } from './hub/types';
import { createSystemMetrics, type SystemMetrics } from './system-metrics';

export interface AcoContext {
	config: AcoConfig;
	logger: Logger;
	store: Store;
	bus: EventBus;
	orchestrator: Orchestrator;
	hub: Hub;
	/** process figures for /api/v1/system/metrics */
	system: SystemMetrics;
	/** what happens when the data folder's disk fills up (fails the tasks whose logs cannot be stored) */
	storage: DiskGuard;
	startedAt: string;
	/** stops tools, closes sockets with `closeCode`, closes the bus and the database; idempotent */
	close(closeCode?: number): Promise<void>;
}

export async function createContext(
	config: AcoConfig,
	logger: Logger = createLogger(config.logLevel)
): Promise<AcoContext> {
	fs.mkdirSync(config.dataDir, { recursive: true });
	const lock = lockDataDir(config.dataDir);
	let store: Store;
	try {
		store = openSqliteStore(config.dataDir);
	} catch (err) {
		lock.release();
		throw err;
	}
	const bus = new MemoryBus({ onError: (err) => logger.error({ err }, 'bus listener failed') });
	const storage = new DiskGuard({
		dataDir: config.dataDir,
		reserveBytes: config.diskReserveBytes,
		logger: logger.child({ component: 'storage' })
	});
	const orchestrator = createOrchestrator({
		store,
		bus,
		config: config.orchestrator,
		logger: logger.child({ component: 'orchestrator' }),
		storage
	});
	await orchestrator.recover();
	const hub = createHub({
		bus,
		config: config.hub,
		logger: logger.child({ component: 'hub' }),
		processMetrics: true
	});

	const system = createSystemMetrics();

	let closing: Promise<void> | null = null;
	return {
		config,
		logger,
		store,
		bus,
		orchestrator,
		hub,
		system,
		storage,
		startedAt: new Date().toISOString(),
		close(closeCode = 1001) {
			closing ??= (async () => {
				await hub.close(closeCode, 'server shutting down');
				system.close();
				await orchestrator.shutdown();
				await bus.close();
				await store.close();
				storage.close();
				lock.release();
			})();
			return closing;
		}
	};
}
