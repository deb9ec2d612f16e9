import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { secretNameTest } from '../masking/secret-env';
import { withSecretValues, withoutSecretValues } from './spec-secrets';
import type { TaskDef } from './workflow-file';

const dirs: string[] = [];
afterEach(() => {
	for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function workflowsWith(token: string | null): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-spec-secrets-'));
	dirs.push(dir);
	const env =
		token === null ? '' : `\n        env:\n          DEPLOY_TOKEN: "${token}"\n          REGION: eu`;
	fs.writeFileSync(
		path.join(dir, 'deploy.yml'),
		`name: deploy\ntasks:\n  ship:\n    steps:\n      - name: push\n        run: node${env}\n`
	);
	return dir;
}

function def(): TaskDef {
	return {
		key: 'ship',
		name: 'ship',
		needs: [],
		optional: false,
		weight: 1,
		retries: 0,
		steps: [
			{
				name: 'push',
				command: 'node',
				args: [],
				cwd: '/',
				env: { DEPLOY_TOKEN: 's3cret', REGION: 'eu' },
				timeoutMs: null
			}
		]
	};
}

describe('task definitions stored without secret values', () => {
	it('keeps the names of secret variables and no value of theirs', () => {
		const stored = withoutSecretValues(def(), 'deploy', secretNameTest());
		expect(JSON.stringify(stored)).not.toContain('s3cret');
		expect(stored.steps[0]).toMatchObject({ env: { REGION: 'eu' }, secret_env: ['DEPLOY_TOKEN'] });
	});

	it('reads the values again from the workflow when the task starts', async () => {
		const stored = JSON.parse(JSON.stringify(withoutSecretValues(def(), 'deploy', secretNameTest())));
		const [step] = await withSecretValues(stored, workflowsWith('fresh-value'));
		expect(step).toMatchObject({ env: { REGION: 'eu', DEPLOY_TOKEN: 'fresh-value' } });
		expect(step!.unavailable).toBeUndefined();
		expect(step).not.toHaveProperty('secret_env');
	});

	it('makes a step unavailable, saying why, when its workflow no longer defines the secret', async () => {
		const stored = withoutSecretValues(def(), 'deploy', secretNameTest());
		const [step] = await withSecretValues(stored, workflowsWith(null));
		expect(step!.unavailable).toMatch(/DEPLOY_TOKEN is no longer defined .* workflow 'deploy'/);
	});

	it('runs a definition without secrets as it was stored', async () => {
		const plain = { ...def(), steps: [{ ...def().steps[0]!, env: { REGION: 'eu' } }] };
		const stored = withoutSecretValues(plain, 'deploy', secretNameTest());
		expect(await withSecretValues(stored, '/nonexistent')).toEqual(plain.steps);
	});
});
