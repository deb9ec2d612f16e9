/**
 * @module context
 * Builds every part of one aco node (store, bus, orchestrator, ingest, log search, hub) from a
 * config, hands each the parts it needs, and tears them down in order. `server.ts` and the dev
 * plugin both use it; routes reach the result through `event.locals.aco` (global.ts hands it
 * to SvelteKit's separately bundled routes), never by importing these modules' state.
 */
import path from 'node:path';
import { databaseTimingWarning, type AcoConfig } from './config';
import { createAuth, type AuthService } from './auth/auth';
import { connectSessionRelay } from './auth/session-relay';
import { hubAccessOf } from './auth/upgrade';
import { preparePrivateDir, preparePrivateFile, type Tightened } from './data-dir';
import { LOCK_FILENAME, lockDataDir } from './data-lock';
import { DiskGuard } from './disk-guard';
import { createLogger, type Logger } from './logger';
import { createBus } from './bus/create-bus';
import { sharedStream } from './bus/redis/hub-stream';
import { redisMetrics } from './bus/redis/metrics';
import type { RedisBus } from './bus/redis/redis-bus';
import type { EventBus } from './bus/types';
import { openPgStore } from './store/pg/pg-store';
import { DEFAULT_FILENAME as SQLITE_FILENAME, openSqliteStore } from './store/sqlite-store';
import type { Store } from './store/types';
import { createOrchestrator } from './orchestrator/orchestrator';
import { toolEnvironment } from './orchestrator/tool-env';
import type { Orchestrator } from './orchestrator/types';
import { createHub } from './hub/hub';
import { LoopShare } from './loop-share';
import type { Hub } from './hub/types';
import { importLegacyKeys } from './ingest/legacy-keys';
import { createProducerHandler } from './ingest/producer';
import { IngestService } from './ingest/service';
import { LogSearcher } from './store/log-search';
import { createRegexPool } from './store/regex-pool';
import { storeLogReader, type LogReader } from './downloads/log-reader';
import { createReadPool } from './downloads/read-pool';
import { createSystemMetrics, type SystemMetrics } from './system-metrics';
import { secretNameTest } from './masking/secret-env';
import { connectMaskRegistry } from './masking/mask-registry';
import { WorkflowSources } from './workflow-detail';
import { clientAddressOf, type ClientAddressOf } from './http/client-address';

export interface AcoContext {
	config: AcoConfig;
	logger: Logger;
	store: Store;
	bus: EventBus;
	/** the bus shared through Redis (ACO_REDIS_URL): its health and the cluster's figures; else null */
	redis: RedisBus | null;
	orchestrator: Orchestrator;
	/** stand-alone tasks reported by producers (REST and the hub's producer role) */
	ingest: IngestService;
	/** reads and formats log downloads (off the event loop on SQLite) */
	logReader: LogReader;
	/** whole-log search, one per node so its cache serves every request */
	searcher: LogSearcher;
	/** the workflow files' sources as the detail view shows them (secret values masked), kept while unchanged */
	workflowSources: WorkflowSources;
	/** who may do what: tokens, sessions, allowed hosts and origins */
	auth: AuthService;
	/** the address a request comes from, through trusted proxies (per-address limits, logs) */
	clientAddress: ClientAddressOf;
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
	// every log a tool printed lives here: the folder is the user's alone
	const tightened: Tightened = (path, before) =>
		logger.warn(
			{ path, mode: before.toString(8) },
			'made private: the data folder and its files are for aco alone'
		);
	preparePrivateDir(config.dataDir, tightened);
	preparePrivateFile(path.join(config.dataDir, LOCK_FILENAME), { create: true, onTightened: tightened });
	const lock = lockDataDir(config.dataDir);
	const timing = databaseTimingWarning(config);
	if (timing) logger.warn(timing);
	let store: Store;
	try {
		store = config.database.url
			? await openPgStore({
					url: config.database.url,
					node: config.nodeId,
					maxConnections: config.database.maxConnections,
					queryTimeoutMs: config.database.queryTimeoutMs,
					logger: logger.child({ component: 'store' })
				})
			: openSqliteStore(config.dataDir, {
					onTightened: tightened,
					onMigration: ({ version, name }) =>
						logger.info({ component: 'store', version, name }, 'upgrading the database')
				});
	} catch (err) {
		lock.release();
		throw err;
	}
	let bus: EventBus;
	let redis: RedisBus | null;
	try {
		({ bus, redis } = await createBus(config, config.nodeId, logger));
	} catch (err) {
		await store.close();
		lock.release();
		throw err;
	}
	const storage = new DiskGuard({
		dataDir: config.dataDir,
		reserveBytes: config.diskReserveBytes,
		retryMs: config.diskRetryMs,
		logger: logger.child({ component: 'storage' })
	});
	// the tools this node runs share its core with the hub's writes: these give way while one prints
	const loopShare = new LoopShare();
	const orchestrator = createOrchestrator({
		store,
		bus,
		config: config.orchestrator,
		logger: logger.child({ component: 'orchestrator' }),
		node: config.nodeId,
		storage,
		feedShare: loopShare
	});
	await orchestrator.recover();
	// with Redis: what a producer's tasks announce with ::add-mask:: reaches every node (its
	// requests may reach any), and a sign-out on one node closes the session's sockets on all
	const redisShared = config.redis && {
		url: config.redis.url,
		prefix: config.redis.prefix,
		nodeId: config.nodeId
	};
	const [maskRegistry, sessionRelay] = redisShared
		? await Promise.all([
				connectMaskRegistry({ ...redisShared, logger: logger.child({ component: 'mask-registry' }) }),
				connectSessionRelay({ ...redisShared, logger: logger.child({ component: 'session-relay' }) })
			])
		: [null, null];
	const ingest = new IngestService({
		store,
		bus,
		logger: logger.child({ component: 'ingest' }),
		outputLimit: config.orchestrator.outputLimit,
		silenceMs: config.ingest.silenceMs,
		cancelTimeoutMs: config.ingest.cancelTimeoutMs,
		storage,
		// the server's own credentials are masked in ingested output too
		secrets: toolEnvironment(process.env, { remove: config.orchestrator.toolEnvRemove }).secrets,
		maskRegistry
	});
	try {
		await importLegacyKeys(store, config.dataDir, logger.child({ component: 'ingest' }));
	} catch (err) {
		// the keys only guard against duplicates of tasks created before the upgrade
		logger.warn({ err }, 'could not move the old idempotency key file into the store');
	}
	// search matches in worker threads: a hostile regex holds one of them, never the event loop
	const regexPool = createRegexPool({ logger: logger.child({ component: 'log-search' }) });
	const searcher = new LogSearcher(store, { pool: regexPool });
	// the secret names are read once, as the orchestrator does: they do not change while it runs
	const workflowSources = new WorkflowSources(secretNameTest(config.orchestrator.maskEnv));
	// PostgreSQL's reads are async already; SQLite's would hold the event loop page by page
	const logReader =
		config.database.url || config.logReadWorkers === 0
			? storeLogReader(store)
			: createReadPool({
					file: path.resolve(config.dataDir, SQLITE_FILENAME),
					workers: config.logReadWorkers,
					logger: logger.child({ component: 'log-reader' })
				});
	const auth = createAuth({
		config: config.access,
		bindHost: config.host,
		store,
		logger: logger.child({ component: 'auth' }),
		sessionRelay
	});
	const clientAddress = clientAddressOf(config.access.trustedProxies);
	const hub = createHub({
		bus,
		// with Redis the stream is numbered once for every node, and history reaches back into it
		...(redis && sharedStream(redis, config.hub)),
		config: config.hub,
		logger: logger.child({ component: 'hub' }),
		processMetrics: true,
		node: config.nodeId,
		extraMetrics: redis ? redisMetrics(() => redis.health()) : [],
		intercept: createProducerHandler({
			ingest,
			authorize: (principal, token, address) => auth.authorizeProducer(principal, token, address),
			logger: logger.child({ component: 'producer' })
		}),
		access: hubAccessOf(auth, clientAddress),
		clientAddress,
		writeShare: loopShare
	});
	auth.start();

	// every node's figures, for /api/v1/realtime/stats?scope=cluster
	redis?.shareFigures(() => ({ stats: hub.stats(), redis: redis.health() }));

	const system = createSystemMetrics();

	let closing: Promise<void> | null = null;
	return {
		config,
		logger,
		store,
		bus,
		redis,
		orchestrator,
		ingest,
		logReader,
		searcher,
		workflowSources,
		auth,
		clientAddress,
		hub,
		system,
		storage,
		startedAt: new Date().toISOString(),
		close(closeCode = 1001) {
			closing ??= (async () => {
				await hub.close(closeCode, 'server shutting down');
				auth.close();
				await sessionRelay?.close();
				system.close();
				await orchestrator.shutdown();
				loopShare.close();
				ingest.close();
				await maskRegistry?.close();
				await logReader.close();
				await regexPool.close();
				await bus.close();
				await store.close();
				storage.close();
				lock.release();
			})();
			return closing;
		}
	};
}
