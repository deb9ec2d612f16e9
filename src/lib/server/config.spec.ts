import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
	databaseTimingWarning,
	defaultHubConfig,
	loadConfig,
	loadHttpLimits,
	loadHubConfig,
	loadRedisConfig
} from './config';

describe('hub configuration', () => {
	it('has the documented defaults', () => {
		expect(defaultHubConfig()).toMatchObject({
			maxConnections: 1000,
			heartbeatIntervalMs: 30_000,
			idleTimeoutMs: 120_000,
			maxInboundBytes: 64 * 1024,
			historyMaxEvents: 100_000,
			rateLimitPerSecond: 100,
			queueMaxMessages: 100,
			batchMaxEvents: 10,
			batchFlushMs: 100,
			compression: { level: 'none' }
		});
	});

	it('reads the hub settings from the environment', () => {
		const config = loadHubConfig({
			ACO_HISTORY_MAX_EVENTS: '50',
			ACO_MAX_CONNECTIONS_PER_IP: '3',
			ACO_RATE_LIMIT_BURST: '7',
			ACO_COMPRESSION: 'best',
			ACO_COMPRESSION_THRESHOLD_BYTES: '0'
		});
		expect(config).toMatchObject({
			historyMaxEvents: 50,
			maxConnectionsPerIp: 3,
			rateLimitBurst: 7,
			compression: { level: 'best', thresholdBytes: 0 }
		});
	});

	it('names the variable and the allowed values when one is wrong', () => {
		expect(() => loadHubConfig({ ACO_COMPRESSION: 'max' })).toThrow(
			/ACO_COMPRESSION must be one of none, fast, default, best/
		);
		expect(() => loadHubConfig({ ACO_QUEUE_MAX_MESSAGES: '0' })).toThrow(
			/ACO_QUEUE_MAX_MESSAGES must be an integer ≥ 1/
		);
		// a longer piece would not fit a page of the log view whole
		expect(() => loadConfig({ ACO_MAX_LINE_LENGTH: String(128 * 1024) }, '/tmp')).toThrow(
			/ACO_MAX_LINE_LENGTH must be an integer from 16 to 65536/
		);
	});
});

describe('HTTP connection cap', () => {
	it('defaults to 10,000 connections, or 8 per WebSocket the hub allows when that is more', () => {
		expect(loadConfig({}, '/tmp').http.maxConnections).toBe(10_000);
		expect(loadConfig({ ACO_MAX_CONNECTIONS: '5000' }, '/tmp').http.maxConnections).toBe(40_000);
		expect(loadConfig({ ACO_MAX_CONNECTIONS: '5' }, '/tmp').http.maxConnections).toBe(10_000);
	});

	it('reads ACO_MAX_HTTP_CONNECTIONS', () => {
		const config = loadConfig({ ACO_MAX_HTTP_CONNECTIONS: '20', ACO_MAX_CONNECTIONS: '5' }, '/tmp');
		expect(config.http.maxConnections).toBe(20);
		expect(config.hub.maxConnections).toBe(5);
	});

	it('refuses a cap the WebSockets alone could fill, naming both variables', () => {
		expect(() => loadConfig({ ACO_MAX_HTTP_CONNECTIONS: '1000' }, '/tmp')).toThrow(
			/ACO_MAX_HTTP_CONNECTIONS \(1000\) must be greater than ACO_MAX_CONNECTIONS \(1000\)/
		);
		expect(() => loadHttpLimits({ ACO_MAX_HTTP_CONNECTIONS: '50' }, 100)).toThrow(
			/ACO_MAX_CONNECTIONS \(100\)/
		);
		expect(() => loadHttpLimits({ ACO_MAX_HTTP_CONNECTIONS: '0' })).toThrow(
			/ACO_MAX_HTTP_CONNECTIONS must be an integer ≥ 1/
		);
	});
});

describe('Redis configuration', () => {
	it('is off unless ACO_REDIS_URL is set', () => {
		expect(loadRedisConfig({})).toBeNull();
		expect(loadRedisConfig({ ACO_REDIS_URL: '' })).toBeNull();
	});

	it('reads the URL, prefix and outage buffer bounds', () => {
		expect(
			loadRedisConfig({
				ACO_REDIS_URL: 'redis://10.0.0.5:6380/2',
				ACO_REDIS_PREFIX: 'team:',
				ACO_REDIS_BUFFER_EVENTS: '500'
			})
		).toEqual({
			url: 'redis://10.0.0.5:6380/2',
			prefix: 'team:',
			bufferMaxEvents: 500,
			bufferMaxBytes: 64 * 1024 * 1024
		});
	});

	it('names the variable when the URL is not a Redis URL', () => {
		expect(() => loadRedisConfig({ ACO_REDIS_URL: 'localhost:6379' })).toThrow(/ACO_REDIS_URL/);
		expect(() => loadRedisConfig({ ACO_REDIS_URL: 'http://localhost:6379' })).toThrow(/redis:\/\//);
	});

	it('shows a URL that does not parse without its password, and says to percent-encode it', () => {
		// a password with an unencoded `/` and `#`
		const error = errorOf(() => loadRedisConfig({ ACO_REDIS_URL: 'redis://:hunt/er2#x@10.0.0.5:6379' }));
		expect(error).toContain('redis://:***@10.0.0.5:6379');
		expect(error).toMatch(/percent-encode/);
		expect(error).not.toMatch(/hunt|er2/);
	});
});

function errorOf(run: () => unknown): string {
	try {
		run();
	} catch (err) {
		return (err as Error).message;
	}
	throw new Error('did not throw');
}

describe('cluster configuration', () => {
	it('uses the embedded database and a unique node id by default', () => {
		const a = loadConfig({}, '/srv');
		const b = loadConfig({}, '/srv');
		expect(a.database.url).toBeNull();
		expect(a.nodeId).not.toBe(b.nodeId);
		expect(a.orchestrator.leaseMs).toBe(15_000);
	});

	it('warns of a PostgreSQL statement timeout not under a third of the lease, and only with PostgreSQL', () => {
		const pg = { ACO_DATABASE_URL: 'postgres://aco@db/aco' };
		expect(databaseTimingWarning(loadConfig(pg))).toBeNull();
		expect(loadConfig(pg).database.queryTimeoutMs).toBe(4_000);
		expect(databaseTimingWarning(loadConfig({ ...pg, ACO_LEASE_MS: '12000' }))).toMatch(
			/ACO_DATABASE_QUERY_TIMEOUT_MS \(4000 ms\) is not under a third of ACO_LEASE_MS \(12000 ms\).*below 4000/
		);
		expect(
			databaseTimingWarning(
				loadConfig({ ...pg, ACO_LEASE_MS: '12000', ACO_DATABASE_QUERY_TIMEOUT_MS: '3000' })
			)
		).toBeNull();
		expect(databaseTimingWarning(loadConfig({ ACO_LEASE_MS: '1000' }))).toBeNull();
	});

	it('reads the database URL, node id and lease, and refuses a URL that is not PostgreSQL without echoing its password', () => {
		const config = loadConfig(
			{ ACO_DATABASE_URL: 'postgres://aco:pw@db/aco', ACO_NODE_ID: 'node-a', ACO_LEASE_MS: '900' },
			'/srv'
		);
		expect(config).toMatchObject({
			nodeId: 'node-a',
			database: { url: 'postgres://aco:pw@db/aco' },
			orchestrator: { leaseMs: 900 }
		});
		expect(() => loadConfig({ ACO_DATABASE_URL: 'mysql://root:secret@db/aco' })).toThrow(
			/ACO_DATABASE_URL must be a postgres:\/\/ URL/
		);
		expect(() => loadConfig({ ACO_DATABASE_URL: 'mysql://root:secret@db/aco' })).not.toThrow(/secret/);
		// a password with an unencoded `/` or `#` hid from the old redaction
		for (const url of ['postgress://aco:hunt/er2@db/aco', 'mysql://aco:hunt#er2@db/aco']) {
			const error = errorOf(() => loadConfig({ ACO_DATABASE_URL: url }));
			expect(error).toMatch(/aco:\*\*\*@db\/aco/);
			expect(error).toMatch(/percent-encode/);
			expect(error).not.toMatch(/hunt|er2/);
		}
	});
});

describe('access configuration', () => {
	const OPERATOR = 'config-operator-token-0123456789';

	/** a folder holding a tokens file with `text`, mode 0600 */
	function withTokensFile(text: string): string {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-config-'));
		fs.writeFileSync(path.join(dir, 'tokens'), text, { mode: 0o600 });
		return dir;
	}

	it('needs no credentials on loopback when nothing is configured', () => {
		const config = loadConfig({}, '/srv');
		expect(config.host).toBe('127.0.0.1');
		expect(config.access).toMatchObject({ tokens: [], publicUrls: [], allowedHosts: [] });
	});

	it('refuses to start behind a proxy with a tokens file whose every token was commented out', () => {
		const dir = withTokensFile(`# operator ${OPERATOR} alice (revoked)\n`);
		const env = {
			HOST: '127.0.0.1',
			ACO_PUBLIC_URL: 'https://aco.example.com',
			ACO_TOKENS_FILE: 'tokens'
		};
		expect(() => loadConfig(env, dir)).toThrow(/ACO_TOKENS_FILE: tokens holds no token/);
		expect(() => loadConfig(env, dir)).not.toThrow(new RegExp(OPERATOR));
		// the same file on a server nobody published is refused too: a revocation never opens it
		expect(() => loadConfig({ ACO_TOKENS_FILE: 'tokens' }, dir)).toThrow(/holds no token/);
		expect(() => loadConfig({ ...env, ACO_TOKEN: OPERATOR }, dir)).not.toThrow();
	});

	it('refuses to start published by ACO_PUBLIC_URL or ACO_ALLOWED_HOSTS without any token', () => {
		expect(() => loadConfig({ ACO_PUBLIC_URL: 'https://aco.example.com' }, '/srv')).toThrow(
			/refusing to start without credentials: ACO_PUBLIC_URL \(https:\/\/aco\.example\.com\)/
		);
		expect(() => loadConfig({ ACO_ALLOWED_HOSTS: 'aco.internal:3000' }, '/srv')).toThrow(
			/ACO_ALLOWED_HOSTS \(aco\.internal:3000\)/
		);
		expect(() =>
			loadConfig({ ACO_PUBLIC_URL: 'https://aco.example.com', ACO_TOKEN: OPERATOR }, '/srv')
		).not.toThrow();
		// a local proxy on another port publishes nothing beyond this machine
		expect(() => loadConfig({ ACO_PUBLIC_URL: 'http://localhost:8080' }, '/srv')).not.toThrow();
	});
});
