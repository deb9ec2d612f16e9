import { describe, expect, it } from 'vitest';
import { UNPARSABLE_URL, redactUrl } from './redact-url';

describe('redactUrl', () => {
	it('shows the password in the user part as ***', () => {
		expect(redactUrl('redis://:hunter2@10.0.0.5:6379/0')).toBe('redis://:***@10.0.0.5:6379/0');
		expect(redactUrl('rediss://aco:hunter2@redis.internal:6380')).toBe(
			'rediss://aco:***@redis.internal:6380'
		);
		expect(redactUrl('postgres://aco:p%40ss@db.internal:5432/aco')).toBe(
			'postgres://aco:***@db.internal:5432/aco'
		);
	});

	it('shows a password in the query string, and any parameter named like a secret, as ***', () => {
		expect(redactUrl('redis://10.0.0.5:6379/0?password=hunter2')).toBe(
			'redis://10.0.0.5:6379/0?password=***'
		);
		expect(
			redactUrl('postgres://db/aco?sslmode=require&sslpassword=hunter2&host=/var/run/pg&PASSWORD=hunter2')
		).toBe('postgres://db/aco?sslmode=require&sslpassword=***&host=/var/run/pg&PASSWORD=***');
		expect(redactUrl('redis://h:6379?db=2&auth_token=hunter2&api%4Bey=hunter2')).toBe(
			'redis://h:6379?db=2&auth_token=***&api%4Bey=***'
		);
		for (const url of ['redis://h?password=hunter2', 'postgres://u:hunter2@h/d?x-secret=hunter2']) {
			expect(redactUrl(url)).not.toContain('hunter2');
		}
	});

	it('redacts by shape a URL the parser refuses, so a Unix-socket URL still says where it points', () => {
		expect(redactUrl('postgresql://aco:hunter2@/aco?host=/var/run/postgresql')).toBe(
			'postgresql://aco:***@/aco?host=/var/run/postgresql'
		);
		expect(redactUrl('postgresql://aco@/aco?host=/var/run/postgresql&password=hunter2')).toBe(
			'postgresql://aco@/aco?host=/var/run/postgresql&password=***'
		);
		// a password holding an unencoded `/`, `?`, `#` or `@`: everything up to the last `@` is hidden
		for (const password of ['hunt/er2', 'hunt#er2', '12/hunter2', '12?hunter2', '12#hunter2', 'hu@nt/er2']) {
			const shown = redactUrl(`postgres://aco:${password}@db.internal:5432/aco`);
			expect(shown).toBe('postgres://aco:***@db.internal:5432/aco');
		}
		expect(redactUrl('redis://:hunter2@[::1')).toBe('redis://:***@[::1');
		expect(redactUrl('redis://h:6379/0#hunter2')).toBe('redis://h:6379/0#***');
	});

	it('keeps a URL without secrets as it was, and shows none of one that does not parse', () => {
		expect(redactUrl('redis://10.0.0.5:6379/2')).toBe('redis://10.0.0.5:6379/2');
		expect(redactUrl('postgres://aco@db:5432/aco?sslmode=require')).toBe(
			'postgres://aco@db:5432/aco?sslmode=require'
		);
		expect(redactUrl('not a url: hunter2')).toBe(UNPARSABLE_URL);
	});
});
