import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { SessionManager, TOUCH_EVERY_MS, sessionIdOf } from './sessions';
import { TokenSet, loadTokens } from './tokens';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const IDLE = 60 * 60_000;
const MAX_AGE = 4 * 60 * 60_000;

function tokensOf(env: Record<string, string>): TokenSet {
	return new TokenSet(loadTokens(env, { readFile: () => '' }));
}

describe('browser sessions', () => {
	let store: Store;
	let now: number;
	let tokens: TokenSet;
	let sessions: SessionManager;

	const manager = (set: TokenSet) =>
		new SessionManager({
			store,
			tokens: set,
			policy: { idleMs: IDLE, maxAgeMs: MAX_AGE },
			logger: createLogger('silent'),
			now: () => now
		});

	beforeEach(() => {
		store = openSqliteStore('', { filename: ':memory:' });
		now = Date.parse('2026-01-01T00:00:00Z');
		tokens = tokensOf({ ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` });
		sessions = manager(tokens);
	});
	afterEach(async () => {
		sessions.close();
		await store.close();
	});

	it('exchanges a token for a random session whose id is stored only as a hash', async () => {
		const signedIn = await sessions.create(tokens.verify(VIEWER)!);
		expect(signedIn.value).toMatch(/^[\w-]{43}$/);
		expect(signedIn.principal).toMatchObject({ role: 'viewer', via: 'session' });
		expect(signedIn.maxAgeS).toBe(MAX_AGE / 1000);
		expect(await store.getSession(signedIn.value)).toBeNull();
		const stored = await store.getSession(sessionIdOf(signedIn.value));
		expect(stored).toMatchObject({ role: 'viewer', expires_at: new Date(now + IDLE).toISOString() });
		expect(JSON.stringify(stored)).not.toContain(VIEWER);
		expect((await sessions.resolve(signedIn.value))?.role).toBe('viewer');
		expect(await sessions.resolve('forged-value')).toBeNull();
	});

	it('gives a new id on every sign-in and ends the session it replaces', async () => {
		const first = await sessions.create(tokens.verify(OPERATOR)!);
		const second = await sessions.create(tokens.verify(OPERATOR)!, first.value);
		expect(second.value).not.toBe(first.value);
		expect(await sessions.resolve(first.value)).toBeNull();
		expect(await sessions.resolve(second.value)).not.toBeNull();
	});

	it('ends a session after the idle time, moved on by use, and at the latest at its maximum age', async () => {
		const { value } = await sessions.create(tokens.verify(OPERATOR)!);
		now += IDLE - 1;
		expect(await sessions.resolve(value)).not.toBeNull();
		// used just now: the idle time starts again
		now += IDLE - 1;
		expect(await sessions.resolve(value)).not.toBeNull();
		for (let i = 0; i < 10; i += 1) {
			now += IDLE / 2;
			const principal = await sessions.resolve(value);
			if (!principal) break;
			expect(principal.expiresAt).toBeLessThanOrEqual(Date.parse('2026-01-01T00:00:00Z') + MAX_AGE);
		}
		expect(await sessions.resolve(value)).toBeNull();
		expect(await store.getSession(sessionIdOf(value))).toBeNull();
	});

	it('writes use at most once a minute', async () => {
		const { value } = await sessions.create(tokens.verify(OPERATOR)!);
		const id = sessionIdOf(value);
		now += TOUCH_EVERY_MS - 1;
		await sessions.resolve(value);
		expect((await store.getSession(id))?.last_seen_at).toBe('2026-01-01T00:00:00.000Z');
		now += 1;
		await sessions.resolve(value);
		expect((await store.getSession(id))?.last_seen_at).toBe(new Date(now).toISOString());
	});

	it('ends on sign-out and tells the listeners', async () => {
		const ended: string[] = [];
		sessions.onEnded((id, reason) => ended.push(`${id}:${reason}`));
		const { value } = await sessions.create(tokens.verify(VIEWER)!);
		expect(await sessions.signOut(value)).toBe(sessionIdOf(value));
		expect(ended).toEqual([`${sessionIdOf(value)}:signed out`]);
		expect(await sessions.resolve(value)).toBeNull();
		expect(await sessions.revalidate(sessionIdOf(value))).toBeNull();
	});

	it('announces a session it ended to the other nodes, and tells its listeners of one they ended', async () => {
		const announced: string[] = [];
		const remote = new Set<(id: string, reason: string) => void>();
		const relay = {
			announce: (id: string, reason: string) => void announced.push(`${id}:${reason}`),
			onEnded(listener: (id: string, reason: string) => void) {
				remote.add(listener);
				return () => remote.delete(listener);
			}
		};
		const node = new SessionManager({
			store,
			tokens,
			policy: { idleMs: IDLE, maxAgeMs: MAX_AGE },
			logger: createLogger('silent'),
			now: () => now,
			relay
		});
		const ended: string[] = [];
		node.onEnded((id, reason) => ended.push(`${id}:${reason}`));
		const { value } = await node.create(tokens.verify(VIEWER)!);
		await node.signOut(value);
		expect(announced).toEqual([`${sessionIdOf(value)}:signed out`]);
		// a session no longer stored (ended already, on this node or another) is not announced again
		await node.signOut(value);
		expect(announced).toHaveLength(1);

		for (const listener of remote) listener('b'.repeat(64), 'signed out');
		expect(ended.at(-1)).toBe(`${'b'.repeat(64)}:signed out`);
		node.close();
		expect(remote.size).toBe(0);
	});

	it('ends the sessions of a token no longer configured, and follows a changed role', async () => {
		const { value } = await sessions.create(tokens.verify(VIEWER)!);
		const operatorOnly = manager(tokensOf({ ACO_TOKEN: OPERATOR }));
		expect(await operatorOnly.resolve(value)).toBeNull();

		const again = await sessions.create(tokens.verify(VIEWER)!);
		const promoted = manager(tokensOf({ ACO_TOKENS: `operator:${VIEWER}` }));
		expect((await promoted.resolve(again.value))?.role).toBe('operator');
	});

	it('sweeps expired sessions out of the store', async () => {
		await sessions.create(tokens.verify(VIEWER)!);
		const kept = await sessions.create(tokens.verify(OPERATOR)!);
		now += IDLE / 2;
		await sessions.resolve(kept.value);
		now += IDLE / 2 + 1;
		expect(await sessions.sweep()).toBe(1);
		expect(await sessions.resolve(kept.value)).not.toBeNull();
	});
});
