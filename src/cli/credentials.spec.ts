import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsPath, storedToken, tokenOrigin } from './credentials';

describe('a kept token', () => {
	let env: { ACO_CONFIG_DIR: string };

	beforeEach(() => {
		env = { ACO_CONFIG_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'aco-credentials-spec-')) };
	});
	afterEach(() => fs.rmSync(env.ACO_CONFIG_DIR, { recursive: true, force: true }));

	/** a credentials file as a hand edit on Windows may leave it */
	function keep(token: string): void {
		const servers = { 'http://127.0.0.1:3000': { token, role: 'operator', saved_at: '' } };
		fs.writeFileSync(credentialsPath(env), JSON.stringify({ version: 1, servers }));
	}

	it('is used without surrounding white space', () => {
		keep('kept-token\r\n');
		expect(storedToken('http://127.0.0.1:3000', env)).toBe('kept-token');
	});

	it('that holds a control character is a usage error naming the file', () => {
		keep('kept\rtoken');
		expect(() => storedToken('http://127.0.0.1:3000/', env)).toThrow(
			expect.objectContaining({
				exitCode: 2,
				message: `the token from ${credentialsPath(env)} (kept for http://127.0.0.1:3000; run "aco login" again) contains a control character (a carriage return from a Windows file?) at position 5; a token has only visible ASCII characters.`
			})
		);
	});

	it('is named, with aco login and aco logout, when the server refuses it', () => {
		keep('stale-token');
		expect(tokenOrigin('ws://127.0.0.1:3000/ws', {}, env)).toBe(
			`The token sent is the one "aco login" kept for http://127.0.0.1:3000 in ${credentialsPath(env)}: ` +
				'sign in again with "aco login --url http://127.0.0.1:3000", or forget it with "aco logout --url http://127.0.0.1:3000".'
		);
		// a token the command was given goes first, and is named by where it came from
		expect(tokenOrigin('http://127.0.0.1:3000', { token: 't', tokenSource: 'ACO_TOKEN' }, env)).toBe(
			'The token sent came from ACO_TOKEN.'
		);
		expect(tokenOrigin('http://127.0.0.1:3000', { token: 't', tokenSource: '--token' }, env)).toBe(
			'The token sent came from --token.'
		);
		expect(tokenOrigin('http://127.0.0.1:4000', {}, env)).toBe(
			'No token was sent: give one with --token or ACO_TOKEN, or keep one with "aco login --url http://127.0.0.1:4000".'
		);
	});
});
