/**
 * Signing out in a cluster: two real nodes on one PostgreSQL and one Redis. A session signed
 * out on node A has its WebSocket on node B closed with 4503 at once, not at B's next check of
 * open sessions against the database, which is set to a minute here so that only the
 * announcement through Redis can close it in time. The token's other session stays open on B.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNED_OUT_REASON } from '../../src/lib/protocol/auth';
import { startCluster, type TestCluster } from '../helpers/cluster';
import type { AcoProcess } from '../helpers/server';
import { signInCookie } from '../helpers/sign-in';
import { connect, upgradeRequest } from '../helpers/ws-client';

const VIEWER = 'nodes-signout-viewer-token-0123456789';
const SESSION_CHECK_MS = 60_000;
/** far below the check: only the announcement closes a socket on the other node this soon */
const AT_ONCE_MS = 10_000;

describe('sign-out across nodes', () => {
	let cluster: TestCluster;
	let a: AcoProcess;
	let b: AcoProcess;

	beforeAll(async () => {
		cluster = await startCluster({
			nodes: 2,
			redis: true,
			env: { ACO_TOKENS: `viewer:${VIEWER}`, ACO_SESSION_CHECK_MS: String(SESSION_CHECK_MS) }
		});
		[a, b] = cluster.nodes as [AcoProcess, AcoProcess];
	}, 90_000);
	afterAll(async () => {
		await cluster?.stop();
	});

	it('closes the session’s socket on the other node with 4503 at once, and no other session’s', async () => {
		const cookie = await signInCookie(a.url, VIEWER);
		const otherCookie = await signInCookie(b.url, VIEWER);
		const onB = await connect(b.wsUrl, { headers: { cookie } });
		const otherOnB = await connect(b.wsUrl, { headers: { cookie: otherCookie } });
		for (const socket of [onB, otherOnB]) await socket.nextOfType('welcome');

		const signedOutAt = Date.now();
		const res = await fetch(`${a.url}/signout`, {
			method: 'POST',
			redirect: 'manual',
			headers: { cookie, accept: 'text/html', origin: a.url }
		});
		expect(res.status).toBe(303);
		expect(await onB.waitForClose(AT_ONCE_MS)).toEqual({ code: 4503, reason: SIGNED_OUT_REASON });
		expect(Date.now() - signedOutAt).toBeLessThan(AT_ONCE_MS);

		await otherOnB.sync();
		expect(otherOnB.isOpen).toBe(true);
		expect((await upgradeRequest(b.wsUrl, { cookie })).status).toBe(401);
		await otherOnB.close();
	});
});
