/**
 * @module ingest/registry
 * One ingest service per server context, shared by the REST routes and the WebSocket producer
 * role. Routes are bundled apart from server.ts, so a module-level map would exist twice; a
 * well-known symbol on globalThis does not (as in ../global.ts).
 */
import type { AcoContext } from '../context';
import { toolEnvironment } from '../orchestrator/tool-env';
import { IngestService } from './service';

const KEY = Symbol.for('aco.ingest');

type Holder = { [KEY]?: WeakMap<AcoContext, IngestService> };

/** The context's ingest service, created on first use. */
export function ingestFor(context: AcoContext): IngestService {
	const holder = globalThis as Holder;
	const services = (holder[KEY] ??= new WeakMap());
	let service = services.get(context);
	if (!service) {
		const { config } = context;
		service = new IngestService({
			store: context.store,
			bus: context.bus,
			logger: context.logger.child({ component: 'ingest' }),
			dataDir: config.dataDir,
			outputLimit: config.orchestrator.outputLimit,
			silenceMs: config.ingest.silenceMs,
			cancelTimeoutMs: config.ingest.cancelTimeoutMs,
			storage: context.storage,
			// the server's own credentials are masked in ingested output too
			secrets: toolEnvironment(process.env, config.orchestrator.toolEnvRemove).secrets
		});
		services.set(context, service);
	}
	return service;
}
