/**
 * @module ingest/registry
 * One ingest service per server context, shared by the REST routes and the WebSocket producer
 * role. Routes are bundled apart from server.ts, so a module-level map would exist twice; a
 * well-known symbol on globalThis does not (as in ../global.ts).
 */
import type { AcoContext } from '../context';
import { IngestService } from './service';

const KEY = Symbol.for('aco.ingest');

type Holder = { [KEY]?: WeakMap<AcoContext, IngestService> };

/** The context's ingest service, created on first use. */
export function ingestFor(context: AcoContext): IngestService {
	const holder = globalThis as Holder;
	const services = (holder[KEY] ??= new WeakMap());
	let service = services.get(context);
	if (!service) {
		service = new IngestService({
			store: context.store,
			bus: context.bus,
			logger: context.logger.child({ component: 'ingest' }),
			dataDir: context.config.dataDir
		});
		services.set(context, service);
	}
	return service;
}
