import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsPath, storedToken } from './credentials';

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
});
