import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import type { Principal } from '../auth/principal';
import {
	AccessWatch,
	ENDED_MEMORY_MS,
	SESSION_EXPIRED_REASON,
	type HubAccess,
	type WatchedClient
} from './access';

class Client implements WatchedClient {
	closed: { code: number; reason?: string } | null = null;
	constructor(readonly principal: Principal) {}
	close(code: number, reason?: string) {
		this.closed ??= { code, reason };
	}
}

function harness(revalidate: (id: string) => Promise<number | null> = async () => Number.POSITIVE_INFINITY) {
	let now = 1_000_000;
	const listeners = new Set<(id: string, reason: string) => void>();
	const access: HubAccess = {
		admit: async () => ({ ok: false, status: 401, code: 'unauthorized', message: '' }),
		revalidate,
		onSessionEnded: (listener) => {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		checkEveryMs: 5_000
	};
	const watch = new AccessWatch<Client>({ access, logger: createLogger('silent'), now: () => now });
	watch.start();
	return {
		watch,
		advance: (ms: number) => (now += ms),
		endSession: (id: string) => listeners.forEach((l) => l(id, 'signed out')),
		listeners,
		at: () => now
	};
}

const session = (id: string, expiresAt: number): Principal => ({
	role: 'viewer',
	via: 'session',
	name: 'v',
	sessionId: id,
	expiresAt
});

describe('access watch', () => {
	it('closes every socket of a session signed out on this node at once, with 4503', () => {
		const h = harness();
		const a = new Client(session('s1', h.at() + 60_000));
		const b = new Client(session('s1', h.at() + 60_000));
		const other = new Client(session('s2', h.at() + 60_000));
		for (const c of [a, b, other]) h.watch.add(c);
		h.endSession('s1');
		expect(a.closed).toEqual({ code: 4503, reason: 'signed out' });
		expect(b.closed?.code).toBe(4503);
		expect(other.closed).toBeNull();
		h.watch.stop();
		expect(h.listeners.size).toBe(0);
	});

	it('closes a socket whose handshake ends just after its session was signed out, as it arrives', () => {
		const h = harness();
		// admitted (the store still had the session), then signed out before the socket was added
		h.endSession('s1');
		const late = new Client(session('s1', h.at() + 60_000));
		h.watch.add(late);
		expect(late.closed).toEqual({ code: 4503, reason: 'signed out' });
		const other = new Client(session('s2', h.at() + 60_000));
		h.watch.add(other);
		expect(other.closed).toBeNull();
		// ended sessions are remembered for a while only; the periodic check covers what comes later
		h.advance(ENDED_MEMORY_MS);
		h.watch.sweep();
		const later = new Client(session('s1', h.at() + 60_000));
		h.watch.add(later);
		expect(later.closed).toBeNull();
		h.watch.stop();
	});

	it('closes a session expiring mid-stream at the sweep after its end, once the store agrees', async () => {
		const h = harness(async () => null);
		const client = new Client(session('s1', h.at() + 2_500));
		const tokenClient = new Client({ role: 'operator', via: 'token', name: 'ci' });
		h.watch.add(client);
		h.watch.add(tokenClient);
		h.advance(2_000);
		h.watch.sweep();
		expect(client.closed).toBeNull();
		h.advance(1_000);
		h.watch.sweep();
		await new Promise((resolve) => setImmediate(resolve));
		expect(client.closed).toEqual({ code: 4503, reason: SESSION_EXPIRED_REASON });
		expect(tokenClient.closed).toBeNull();
		h.watch.stop();
	});

	it('asks the store about open sessions now and then: ended elsewhere closes, use moves the expiry', async () => {
		const answers = new Map<string, number | null>([
			['gone', null],
			['kept', Number.POSITIVE_INFINITY]
		]);
		const asked: string[] = [];
		const h = harness(async (id) => {
			asked.push(id);
			return answers.get(id) ?? null;
		});
		const gone = new Client(session('gone', h.at() + 60_000));
		const kept = new Client(session('kept', h.at() + 1_000));
		h.watch.add(gone);
		h.watch.add(kept);
		h.advance(500);
		h.watch.sweep();
		expect(asked).toEqual([]);
		h.advance(5_000);
		h.watch.sweep();
		await new Promise((resolve) => setImmediate(resolve));
		expect(asked.sort()).toEqual(['gone', 'kept']);
		expect(gone.closed?.code).toBe(4503);
		// the store said "kept" goes on: its old expiry no longer applies
		h.advance(10_000);
		h.watch.sweep();
		expect(kept.closed).toBeNull();
		h.watch.remove(kept);
		h.watch.stop();
	});
});
