import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflows, toWorkflowSummary } from './workflow-loader';

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
