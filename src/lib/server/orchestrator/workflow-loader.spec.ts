import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflows, MAX_WORKFLOW_BYTES, toWorkflowSummary } from './workflow-loader';

let dir: string;

beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-loader-'));
});

afterEach(() => {
	fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): void {
	fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
	fs.writeFileSync(path.join(dir, name), text);
}

const GOOD = (name: string) => `name: ${name}\ntasks:\n  a:\n    steps:\n      - run: echo ${name}\n`;

describe('loadWorkflows', () => {
	it('loads every .yml and .yaml file, sorted by name, and ignores other files and subfolders', async () => {
		write('b.yml', GOOD('beta'));
		write('a.yaml', GOOD('alpha'));
		write('notes.txt', 'not a workflow');
		write('demo/inner.yml', GOOD('inner'));
		const { workflows, errors } = await loadWorkflows(dir);
		expect(workflows.map((workflow) => workflow.name)).toEqual(['alpha', 'beta']);
		expect(errors).toEqual([]);
	});

	it('reports a broken file with its path and reason while the others still load', async () => {
		write('good.yml', GOOD('good'));
		write('broken.yml', 'tasks:\n  build:\n    steps:\n      - name: compile\n');
		write('syntax.yml', 'tasks: [\n');
		const { workflows, errors } = await loadWorkflows(dir);
		expect(workflows.map((workflow) => workflow.name)).toEqual(['good']);
		expect(errors).toEqual([
			{ file: path.join(dir, 'broken.yml'), reason: 'line 4: tasks.build.steps[0].run: required', line: 4 },
			{
				file: path.join(dir, 'syntax.yml'),
				reason: expect.stringMatching(/^line \d+: /),
				line: expect.any(Number)
			}
		]);
	});

	it('keeps the first of two files that declare the same name and reports the other', async () => {
		write('one.yml', GOOD('same'));
		write('two.yml', GOOD('same'));
		const { workflows, errors } = await loadWorkflows(dir);
		expect(workflows.map((workflow) => workflow.file)).toEqual([path.join(dir, 'one.yml')]);
		expect(errors).toEqual([
			{
				file: path.join(dir, 'two.yml'),
				reason: "duplicate workflow name 'same' (already defined in one.yml)"
			}
		]);
	});

	it('loads a matrix workflow with more than 100 aliases and reports an alias bomb beside it', async () => {
		const matrix =
			'tasks:\n  t0:\n    steps: &steps\n      - run: make\n        env: &env { MODE: ci }\n' +
			'      - run: make test\n        env: *env\n' +
			Array.from({ length: 101 }, (_, i) => `  t${i + 1}:\n    steps: *steps\n`).join('');
		// seven levels of ten aliases each: ten million values once written out
		const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
		for (const [i, name] of [...'bcdefg'].entries()) {
			bomb.push(`${name}: &${name} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`);
		}
		write('matrix.yml', matrix);
		write('bomb.yml', bomb.join('\n') + '\n');
		write('good.yml', GOOD('good'));
		const { workflows, errors } = await loadWorkflows(dir);
		expect(workflows.map((workflow) => [workflow.name, workflow.tasks.length])).toEqual([
			['good', 1],
			['matrix', 102]
		]);
		expect(errors).toEqual([
			{
				file: path.join(dir, 'bomb.yml'),
				reason: expect.stringMatching(/^the file expands to more than 1,000,000 values/),
				line: null
			}
		]);
	});

	it('refuses a file over 1 MiB by its size and loads the others', async () => {
		const text = GOOD('big');
		write('big.yml', text + '#'.repeat(2 * MAX_WORKFLOW_BYTES - text.length - 1) + '\n');
		write('good.yml', GOOD('good'));
		const { workflows, errors } = await loadWorkflows(dir);
		expect(workflows.map((workflow) => workflow.name)).toEqual(['good']);
		expect(errors).toEqual([
			{ file: path.join(dir, 'big.yml'), reason: 'is 2048 KiB; a workflow file may be at most 1024 KiB' }
		]);
	});

	it('loads a workflow of nearly 1 MiB whose step sets 90,000 variables', async () => {
		const keys = Array.from({ length: 90_000 }, (_, i) => `K${i}: v`);
		const text = `name: wide\ntasks:\n  a:\n    steps:\n      - run: env\n        env: { ${keys.join(', ')} }\n`;
		expect(text.length).toBeLessThan(MAX_WORKFLOW_BYTES);
		write('wide.yml', text);
		const { workflows, errors } = await loadWorkflows(dir);
		expect(errors).toEqual([]);
		const env = workflows[0].tasks[0].steps[0].env;
		expect(Object.keys(env)).toHaveLength(90_000);
		expect(env.K89999).toBe('v');
	});

	it('reports a link to a FIFO as not a regular file instead of waiting for a writer', async () => {
		execFileSync('mkfifo', [path.join(dir, 'pipe')]);
		fs.symlinkSync(path.join(dir, 'pipe'), path.join(dir, 'piped.yml'));
		write('good.yml', GOOD('good'));
		const { workflows, errors } = await loadWorkflows(dir);
		expect(workflows.map((workflow) => workflow.name)).toEqual(['good']);
		expect(errors).toEqual([
			{
				file: path.join(dir, 'piped.yml'),
				reason: 'is not a regular file; a workflow must be a file or a link to one'
			}
		]);
	});

	it('reports a missing folder instead of throwing', async () => {
		const missing = path.join(dir, 'nope');
		expect(await loadWorkflows(missing)).toEqual({
			workflows: [],
			errors: [{ file: missing, reason: 'the workflows folder does not exist' }]
		});
	});
});

describe('toWorkflowSummary', () => {
	it('lists tasks with their needs, step count and optional flag', async () => {
		write(
			'ci.yml',
			'description: d\ntasks:\n  a:\n    steps: [{run: ls}, {run: ls}]\n  b:\n    name: B\n    needs: [a]\n    optional: true\n    steps: [{run: ls}]\n'
		);
		const { workflows } = await loadWorkflows(dir);
		expect(toWorkflowSummary(workflows[0])).toEqual({
			name: 'ci',
			description: 'd',
			file: path.join(dir, 'ci.yml'),
			tasks: [
				{ key: 'a', name: 'a', needs: [], steps: 2, optional: false },
				{ key: 'b', name: 'B', needs: ['a'], steps: 1, optional: true }
			]
		});
	});
});
