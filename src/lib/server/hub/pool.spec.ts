import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HubError } from './hub-error';
import { refuseUpgrade, SessionPool } from './pool';
import type { Session } from './session';

const session = (id: string, remoteAddress = '10.0.0.1') => ({ id, remoteAddress }) as Session;

describe('SessionPool', () => {
	it('has capacity until it holds the maximum, and again after a removal', () => {
		const pool = new SessionPool(2);
		const a = session('a');
		pool.add(a);
		pool.add(session('b'));
		expect(pool.hasCapacity()).toBe(false);
		expect(pool.remove(a)).toBe(true);
		expect(pool.hasCapacity()).toBe(true);
		expect(pool.get('a')).toBeUndefined();
		expect(pool.get('b')?.id).toBe('b');
	});

	it('counts active, created and rejected connections, by reason', () => {
		const pool = new SessionPool(5, 3);
		const a = session('a');
		pool.add(a);
		pool.add(session('b'));
		pool.remove(a);
		pool.recordRejected('capacity');
		pool.recordRejected('per_ip');
		pool.recordRejected('per_ip');
		expect(pool.stats()).toEqual({
			active: 1,
			total_created: 2,
			rejected: 3,
			rejected_by_reason: { capacity: 1, per_ip: 2, origin: 0, host: 0, auth: 0, shutting_down: 0 },
			max: 5,
			max_per_ip: 3,
			addresses: 1
		});
	});

	it('limits connections per remote address and frees a slot when one leaves', () => {
		const pool = new SessionPool(10, 2);
		const a = session('a', '10.0.0.1');
		pool.add(a);
		pool.add(session('b', '10.0.0.1'));
		expect(pool.hasCapacityFor('10.0.0.1')).toBe(false);
		expect(pool.hasCapacityFor('10.0.0.2')).toBe(true);
		pool.remove(a);
		expect(pool.hasCapacityFor('10.0.0.1')).toBe(true);
		expect(pool.countFor('10.0.0.1')).toBe(1);
	});

	it('ignores the removal of a session it does not hold, even one with a held id', () => {
		const pool = new SessionPool(5);
		pool.add(session('a'));
		expect(pool.remove(session('a'))).toBe(false);
		expect(pool.size).toBe(1);
	});

	it('refuses a duplicate client id and a limit below one', () => {
		const pool = new SessionPool(5);
		pool.add(session('a'));
		expect(() => pool.add(session('a'))).toThrow(/duplicate/);
		expect(() => new SessionPool(0)).toThrow(RangeError);
	});
});

describe('refuseUpgrade', () => {
	it('writes an HTTP error with Retry-After and a JSON body, then ends the socket', async () => {
		const socket = new PassThrough();
		const chunks: Buffer[] = [];
		socket.on('data', (c: Buffer) => chunks.push(c));
		const ended = new Promise((resolve) => socket.on('end', resolve));
		refuseUpgrade(socket, 503, HubError.overCapacity(3, 7), 7);
		await ended;
		const text = Buffer.concat(chunks).toString();
		const [head, body] = text.split('\r\n\r\n');
		expect(head).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
		expect(head).toContain('Retry-After: 7');
		expect(head).toContain(`Content-Length: ${Buffer.byteLength(body!)}`);
		expect(JSON.parse(body!)).toEqual({
			error: { code: 'over_capacity', message: expect.stringContaining('3') }
		});
	});

	it('destroys a socket that can no longer be written to', () => {
		const socket = new PassThrough();
		socket.end();
		socket.resume();
		return new Promise<void>((resolve) => {
			socket.on('finish', () => {
				refuseUpgrade(socket, 503, HubError.shuttingDown());
				expect(socket.destroyed).toBe(true);
				resolve();
			});
		});
	});
});
