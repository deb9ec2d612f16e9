/**
 * Behind a reverse proxy every request comes from the proxy's address. The real server counts
 * and logs the client a trusted proxy forwards (X-Forwarded-For, with ACO_TRUSTED_PROXIES as the
 * README's proxy setup sets it), so one person's connections do not use up a whole team's
 * per-address limit, and believes the header from no one else (no one by default).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';
import { connect, upgradeRequest, type TestClient } from '../helpers/ws-client';

const TOKEN = 'proxy-operator-token-0123456789';
const PER_ADDRESS = 2;

async function startBehindProxy(trustedProxies?: string): Promise<AcoProcess> {
	return startAco({
		workflowsDir: path.join(ROOT, 'tests/fixtures/workflows'),
		env: {
			ACO_TOKEN: TOKEN,
			ACO_MAX_CONNECTIONS_PER_IP: String(PER_ADDRESS),
			...(trustedProxies === undefined ? {} : { ACO_TRUSTED_PROXIES: trustedProxies })
		}
	});
}

/** a hub connection as the proxy passes on a client's, from `forwardedFor` */
function viaProxy(aco: AcoProcess, forwardedFor?: string): Promise<TestClient> {
	return connect(aco.wsUrl, {
		headers: {
			authorization: `Bearer ${TOKEN}`,
			...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {})
		}
	});
}

function upgradeVia(aco: AcoProcess, forwardedFor: string) {
	return upgradeRequest(aco.wsUrl, { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': forwardedFor });
}

describe('client addresses behind a trusted proxy on loopback', () => {
	let aco: AcoProcess;
	const open: TestClient[] = [];

	beforeAll(async () => {
		aco = await startBehindProxy('loopback');
	});
	afterAll(async () => {
		for (const client of open) client.terminate();
		await aco?.stop();
	});

	it('counts WebSocket connections per forwarded client, not per proxy', async () => {
		open.push(await viaProxy(aco, '203.0.113.5'), await viaProxy(aco, '203.0.113.5'));
		const third = await upgradeVia(aco, '203.0.113.5');
		expect(third.status).toBe(429);
		expect(JSON.parse(third.body).error.code).toBe('too_many_connections_from_address');
		// other people behind the same proxy, and the machine's own clients, are not held back
		open.push(await viaProxy(aco, '198.51.100.7'), await viaProxy(aco, '198.51.100.8'), await viaProxy(aco));
		// a client that writes an address into the header itself is still counted by the one its proxy adds
		const spoofed = await upgradeVia(aco, '192.0.2.1, 203.0.113.5');
		expect(spoofed.status).toBe(429);
		// the server logs before it answers, but its output reaches this process separately
		await expect
			.poll(() => aco.output())
			.toMatch(/"remote":"203\.0\.113\.5"[^\n]*per-address connection limit reached/);
	});

	it('logs a refused sign-in with the forwarded client address', async () => {
		const res = await fetch(`${aco.url}/signin`, {
			method: 'POST',
			redirect: 'manual',
			headers: {
				'content-type': 'application/x-www-form-urlencoded',
				accept: 'text/html',
				origin: aco.url,
				'x-forwarded-for': '203.0.113.77'
			},
			body: new URLSearchParams({ token: 'not-a-token-this-server-knows' })
		});
		expect(res.status).toBe(401);
		await expect
			.poll(() => aco.output())
			.toMatch(/"remote":"203\.0\.113\.77"[^\n]*sign-in with a token this server does not know/);
	});
});

describe('client addresses with no proxy trusted (the default)', () => {
	let aco: AcoProcess;
	const open: TestClient[] = [];

	beforeAll(async () => {
		aco = await startBehindProxy();
	});
	afterAll(async () => {
		for (const client of open) client.terminate();
		await aco?.stop();
	});

	it('believes no X-Forwarded-For: every connection from here counts as this address', async () => {
		open.push(await viaProxy(aco, '203.0.113.5'), await viaProxy(aco, '198.51.100.7'));
		const third = await upgradeVia(aco, '192.0.2.200');
		expect(third.status).toBe(429);
		await expect
			.poll(() => aco.output())
			.toMatch(/"remote":"(::ffff:)?127\.0\.0\.1"[^\n]*per-address connection limit reached/);
	});
});
