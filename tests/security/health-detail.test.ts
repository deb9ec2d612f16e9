/**
 * What the health check tells anyone, against the real server with credentials on and a Redis
 * that cannot be reached (its URL carrying passwords, in the user part and the query string):
 * healthz, which needs no credentials and answers any Host, says Redis is down in words of our
 * own; where Redis is and what its driver said only a caller with credentials reads, in
 * /api/v1/realtime/stats; no password shows anywhere, the server log included.
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HealthResponse, RealtimeStatsResponse } from '../../src/lib/protocol';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const OPERATOR = 'health-operator-token-0123456789';
const VIEWER = 'health-viewer-token-0123456789';
const USER_PASSWORD = 'userinfo-pw-4711';
const QUERY_PASSWORD = 'query-pw-0815';

/** a port nothing listens on: taken from the system, then let go */
async function closedPort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as net.AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/** GET with any Host header (fetch does not let one set Host) */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const req = http.get(url, { headers: { host } }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
		});
		req.on('error', reject);
	});
}

describe('health detail', () => {
	let aco: AcoProcess;
	let port: number;

	beforeAll(async () => {
		port = await closedPort();
		aco = await startAco({
			workflowsDir: path.join(ROOT, 'tests/fixtures/workflows'),
			env: {
				ACO_TOKEN: OPERATOR,
				ACO_TOKENS: `viewer:${VIEWER}`,
				ACO_REDIS_URL: `redis://:${USER_PASSWORD}@127.0.0.1:${port}/0?password=${QUERY_PASSWORD}`
			}
		});
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it('tells anyone, by any Host, only that Redis is down, in words of its own', async () => {
		for (const host of [`127.0.0.1:${aco.port}`, 'lb-probe.internal']) {
			const { status, body } = await getWithHost(`${aco.url}/api/v1/healthz`, host);
			expect(status).toBe(200);
			const health = JSON.parse(body) as HealthResponse;
			expect(health.redis).toMatchObject({ status: 'down', attached: false });
			expect(health.redis?.message).toMatch(/Redis cannot be reached/);
			expect(body).not.toMatch(new RegExp(`127\\.0\\.0\\.1|:${port}\\b|ECONNREFUSED|redis://`));
			expect(body).not.toMatch(/pw-/);
		}
	});

	it('gives where Redis is and why it is down to a caller with credentials, its passwords as ***', async () => {
		const anonymous = await fetch(`${aco.url}/api/v1/realtime/stats`);
		expect(anonymous.status).toBe(401);
		const stats = await vi.waitFor(
			async () => {
				const res = await fetch(`${aco.url}/api/v1/realtime/stats`, {
					headers: { authorization: `Bearer ${VIEWER}` }
				});
				expect(res.status).toBe(200);
				const body = (await res.json()) as RealtimeStatsResponse;
				expect(body.redis?.last_error).toMatch(/ECONNREFUSED/);
				return body;
			},
			{ timeout: 20_000, interval: 100 }
		);
		expect(stats.redis).toMatchObject({
			status: 'down',
			address: `redis://:***@127.0.0.1:${port}/0?password=***`
		});
		expect(JSON.stringify(stats)).not.toMatch(/pw-/);
		// the server log names Redis by the same redacted address
		expect(aco.output()).toContain(`127.0.0.1:${port}`);
		expect(aco.output()).not.toMatch(/pw-/);
	});
});
