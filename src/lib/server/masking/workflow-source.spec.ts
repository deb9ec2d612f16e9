import { describe, expect, it } from 'vitest';
import { parseWorkflowFile } from '../orchestrator/workflow-file';
import { secretNameTest } from './secret-env';
import { redactWorkflowSource } from './workflow-source';

const isSecret = secretNameTest(['DATABASE_URL']);

describe('redactWorkflowSource', () => {
	it('hides the value of each secret variable, whatever its YAML form, and keeps the rest', () => {
		const source = [
			'name: deploy',
			'tasks:',
			'  ship:',
			'    steps:',
			'      - run: ./ship.sh',
			'        env:',
			'          DEPLOY_TOKEN: supersecretvalue123 # from the vault',
			"          API_KEY: 'quoted-secret-value'",
			'          DATABASE_URL: "postgres://u:pw@db/x"',
			'          REGION: eu-west-1',
			'          SIGNING_PASSWORD: |',
			'            block-secret-line',
			'      - run: ./notify.sh',
			'        env: { SLACK_TOKEN: flow-secret-value, CHANNEL: ops }',
			''
		].join('\n');
		const shown = redactWorkflowSource(source, isSecret);
		for (const secret of [
			'supersecretvalue123',
			'quoted-secret-value',
			'pw@db',
			'block-secret-line',
			'flow-secret-value'
		])
			expect(shown).not.toContain(secret);
		expect(shown).toContain('DEPLOY_TOKEN: *** # from the vault');
		expect(shown).toContain('REGION: eu-west-1');
		expect(shown).toContain('CHANNEL: ops');
		expect(shown).toContain('run: ./ship.sh');
		// line for line: a load error's line number still points at its line
		expect(shown.split('\n')).toHaveLength(source.split('\n').length);
	});

	it('hides a secret value where the file repeats it, and a short one where it is defined', () => {
		const source = [
			'tasks:',
			'  a:',
			'    steps:',
			'      - run: curl -H "auth: supersecretvalue123" https://example.com',
			'        env:',
			'          NPM_TOKEN: supersecretvalue123',
			'          PIN_KEY: 42',
			''
		].join('\n');
		const shown = redactWorkflowSource(source, isSecret);
		expect(shown).not.toContain('supersecretvalue123');
		expect(shown).toContain('PIN_KEY: ***');
	});

	it('hides a secret value a secret variable takes from an anchor, where the anchor writes it', () => {
		const source = [
			'x-secrets:',
			'  token: &tok s3cr3t-value-9',
			'  short: &pin abc',
			'steps:',
			'  - run: deploy',
			'    env:',
			'      DEPLOY_TOKEN: *tok',
			'      OTHER_TOKEN: *tok',
			'      PIN_PASSWORD: *pin',
			'      MODE: *pin'
		].join('\n');
		const shown = redactWorkflowSource(source, secretNameTest());
		expect(shown).not.toContain('s3cr3t-value-9');
		expect(shown).not.toMatch(/&pin abc/);
		expect(shown).toContain('DEPLOY_TOKEN: *tok');
		expect(shown).toContain('MODE: *pin');
		expect(shown.split('\n')).toHaveLength(source.split('\n').length);
	});

	it('hides the value of a secret variable whose name is an alias, as the loader reads it', () => {
		const source = [
			'name: w',
			'description: &tok DEPLOY_TOKEN',
			'tasks:',
			'  t:',
			'    steps:',
			'      - run: echo hi',
			'        env:',
			'          *tok : supersecret123',
			''
		].join('\n');
		const loaded = parseWorkflowFile(source, '/tmp/w.yml');
		expect(loaded.ok && loaded.workflow.tasks[0]!.steps[0]!.env).toEqual({ DEPLOY_TOKEN: 'supersecret123' });
		const shown = redactWorkflowSource(source, secretNameTest());
		expect(shown).not.toContain('supersecret123');
		expect(shown).toContain('*tok : ***');
		expect(shown.split('\n')).toHaveLength(source.split('\n').length);
	});

	it('hides secret values in a file that is not valid YAML', () => {
		const source = [
			'tasks:',
			'  a:',
			'    steps:',
			'      - run: [unclosed',
			'        env:',
			'          DEPLOY_TOKEN: supersecretvalue123',
			'          CERT_SECRET: >',
			'            folded-secret-text',
			'          HOME_DIR: /home/x',
			'\t bad: indentation',
			''
		].join('\n');
		const shown = redactWorkflowSource(source, isSecret);
		expect(shown).not.toContain('supersecretvalue123');
		expect(shown).not.toContain('folded-secret-text');
		expect(shown).toContain('HOME_DIR: /home/x');
		expect(shown).toContain('run: [unclosed');
		expect(shown.split('\n')).toHaveLength(source.split('\n').length);
	});

	it('leaves a file without secrets as it is', () => {
		const source =
			'name: hello\ntasks:\n  say:\n    steps:\n      - run: echo hi\n        env: { GREETING: hi }\n';
		expect(redactWorkflowSource(source, isSecret)).toBe(source);
	});

	it('hides where the file repeats them the values of a file with more secrets than a task may mask', () => {
		const count = 1_400;
		const value = (i: number) => `value-${i}-${(i * 7919).toString(36)}-secret`;
		const lines = ['tasks:', '  a:', '    steps:', '      - run: echo', '        env:'];
		for (let i = 0; i < count; i++) lines.push(`          KEY_${i}_TOKEN: ${value(i)}`);
		lines.push(`      - run: curl -u "${value(0)}" -H "x: ${value(count - 1)}" https://example.com`, '');
		const shown = redactWorkflowSource(lines.join('\n'), isSecret);
		for (let i = 0; i < count; i++) expect(shown).not.toContain(value(i));
		expect(shown).toContain('run: curl -u "***" -H "x: ***" https://example.com');
	});
});
