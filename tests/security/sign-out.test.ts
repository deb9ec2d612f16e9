/**
 * Signing out against the real server: the session's WebSockets are closed with 4503 at once,
 * not at the next check of open sessions against the store, which is set to a minute here so that
 * only sign-out itself can close them in time.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNED_OUT_REASON } from '../../src/lib/protocol/auth';
import { signInCookie } from '../helpers/sign-in';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';
import { connect, upgradeRequest } from '../helpers/ws-client';

const OPERATOR = 'signout-operator-token-0123456789';
const VIEWER = 'signout-viewer-token-0123456789';
const SESSION_CHECK_MS = 60_000;
/** far below the check: only sign-out closes a socket this soon */
const AT_ONCE_MS = 10_000;

describe('sign-out', () => {
	let aco: AcoProcess;

	const signIn = (token: string) => signInCookie(aco.url, token);

	beforeAll(async () => {
		aco = await startAco({
			workflowsDir: path.join(ROOT, 'tests/fixtures/workflows'),
			env: {
				ACO_TOKEN: OPERATOR,
				ACO_TOKENS: `viewer:${VIEWER}`,
				ACO_SESSION_CHECK_MS: String(SESSION_CHECK_MS)
			}
		});
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it('closes every socket of the signed-out session with 4503 at once, and no other session of its token', async () => {
		const cookie = await signIn(VIEWER);
		const otherCookie = await signIn(VIEWER);
		const sockets = await Promise.all([
			connect(aco.wsUrl, { headers: { cookie } }),
			connect(aco.wsUrl, { headers: { cookie } })
		]);
		const other = await connect(aco.wsUrl, { headers: { cookie: otherCookie } });
		for (const socket of [...sockets, other]) await socket.nextOfType('welcome');

		const signedOutAt = Date.now();
		const res = await fetch(`${aco.url}/signout`, {
			method: 'POST',
			redirect: 'manual',
			headers: { cookie, accept: 'text/html', origin: aco.url }
		});
		expect(res.status).toBe(303);
		for (const socket of sockets) {
			expect(await socket.waitForClose(AT_ONCE_MS)).toEqual({ code: 4503, reason: SIGNED_OUT_REASON });
		}
		expect(Date.now() - signedOutAt).toBeLessThan(AT_ONCE_MS);

		// the same token's other session goes on; the signed-out cookie opens nothing
		await other.sync();
		expect(other.isOpen).toBe(true);
		expect((await upgradeRequest(aco.wsUrl, { cookie })).status).toBe(401);
		await other.close();
	});
});
