import { describe, expect, it } from 'vitest';
import { HostPolicy, normalizeHost, parseAllowedHosts, parsePublicUrls } from './hosts';

describe('host policy', () => {
	it('answers the loopback names with its own port only, once it listens', () => {
		const policy = new HostPolicy({ bindHost: '127.0.0.1' });
		expect(policy.allowsHost('127.0.0.1:3000')).toBe(false);
		policy.listening(3000);
		for (const host of ['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST:3000', '[::1]:3000']) {
			expect(policy.allowsHost(host)).toBe(true);
		}
		for (const host of [
			'127.0.0.1:3001',
			'evil.example:3000',
			'127.0.0.1',
			'',
			null,
			'localhost:3000/x',
			'a@localhost:3000'
		]) {
			expect(policy.allowsHost(host)).toBe(false);
		}
	});

	it('answers every interface address when bound to all of them, and the bound address otherwise', () => {
		const wildcard = new HostPolicy({ bindHost: '0.0.0.0', interfaces: () => ['10.0.0.5', '[fd00::5]'] });
		wildcard.listening(8080);
		expect(wildcard.allowsHost('10.0.0.5:8080')).toBe(true);
		expect(wildcard.allowsHost('[fd00::5]:8080')).toBe(true);
		expect(wildcard.allowsHost('10.0.0.6:8080')).toBe(false);
		const one = new HostPolicy({ bindHost: '192.168.1.20' });
		one.listening(80);
		expect(one.allowsHost('192.168.1.20')).toBe(true);
		expect(one.allowsHost('192.168.1.20:80')).toBe(true);
	});

	it('answers the public URL and the allowed hosts, exactly', () => {
		const policy = new HostPolicy({
			bindHost: '127.0.0.1',
			publicUrls: ['https://aco.example.com'],
			allowedHosts: ['aco.internal:3000']
		});
		policy.listening(3000);
		expect(policy.allowsHost('aco.example.com')).toBe(true);
		expect(policy.allowsHost('aco.example.com:443')).toBe(true);
		expect(policy.allowsHost('aco.internal:3000')).toBe(true);
		expect(policy.allowsHost('sub.aco.example.com')).toBe(false);
		expect(policy.allowsHost('aco.example.com.evil.example')).toBe(false);
		expect(policy.secure).toBe(true);
	});

	it('allows its own origins, listed ones and requests without an Origin; nothing else', () => {
		const policy = new HostPolicy({
			bindHost: '127.0.0.1',
			publicUrls: ['https://aco.example.com'],
			allowedOrigins: ['https://grafana.example.com']
		});
		policy.listening(3000);
		expect(policy.allowsOrigin(undefined)).toBe(true);
		expect(policy.allowsOrigin('http://127.0.0.1:3000')).toBe(true);
		expect(policy.allowsOrigin('http://localhost:3000')).toBe(true);
		expect(policy.allowsOrigin('https://aco.example.com')).toBe(true);
		expect(policy.allowsOrigin('https://grafana.example.com')).toBe(true);
		expect(policy.allowsOrigin('http://aco.example.com')).toBe(false);
		expect(policy.allowsOrigin('https://127.0.0.1:3000')).toBe(false);
		expect(policy.allowsOrigin('http://evil.example:3000')).toBe(false);
		expect(policy.allowsOrigin('null')).toBe(false);
	});

	it('normalizes hosts as browsers send them and rejects anything else', () => {
		expect(normalizeHost('LocalHost:80')).toBe('localhost');
		expect(normalizeHost('[::1]:3000')).toBe('[::1]:3000');
		expect(normalizeHost('a b')).toBeNull();
		expect(normalizeHost('x/y')).toBeNull();
	});

	it('parses ACO_PUBLIC_URL and ACO_ALLOWED_HOSTS, naming a bad value', () => {
		expect(parsePublicUrls('https://aco.example.com/, http://10.0.0.5:3000')).toEqual([
			'https://aco.example.com',
			'http://10.0.0.5:3000'
		]);
		expect(() => parsePublicUrls('https://aco.example.com/app')).toThrow(/must be an origin/);
		expect(() => parsePublicUrls('ftp://x')).toThrow(/must start with https/);
		expect(parseAllowedHosts('Aco.Internal:3000')).toEqual(['aco.internal:3000']);
		expect(() => parseAllowedHosts('http://x/')).toThrow(/ACO_ALLOWED_HOSTS/);
	});
});
