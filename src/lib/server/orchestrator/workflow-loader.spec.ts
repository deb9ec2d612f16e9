import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseWorkflowFile } from './workflow-file';
import { createWorkflowCache, loadWorkflows, MAX_WORKFLOW_BYTES, toWorkflowSummary } from './workflow-loader';

// counted, not changed: how many times each file is parsed
vi.mock('./workflow-file', async (importOriginal) => {
	const actual = await importOriginal<typeof import('./workflow-file')>();
	return { ...actual, parseWorkflowFile: vi.fn(actual.parseWorkflowFile) };
});

let dir: string;

beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-loader-'));
	vi.mocked(parseWorkflowFile).mockClear();
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

/** the files parsed since the last call, by name */
function parsed(): string[] {
	const files = vi.mocked(parseWorkflowFile).mock.calls.map(([, file]) => path.basename(file));
	vi.mocked(parseWorkflowFile).mockClear();
	return files.sort();
}

/** a clock an hour ahead: every file's last change is long past, so its stat is trusted */
const later = () => Date.now() + 3_600_000;

describe('loadWorkflows with a cache', () => {
	it('parses only the files that changed since the last listing', async () => {
		write('a.yml', GOOD('alpha'));
		write('b.yml', GOOD('beta'));
		const cache = createWorkflowCache();
		const first = await loadWorkflows(dir, { cache });
		expect(parsed()).toEqual(['a.yml', 'b.yml']);

		expect(await loadWorkflows(dir, { cache })).toEqual(first);
		expect(parsed()).toEqual([]);

		write('b.yml', GOOD('bravo'));
		const { workflows } = await loadWorkflows(dir, { cache });
		expect(workflows.map((workflow) => workflow.name)).toEqual(['alpha', 'bravo']);
		expect(parsed()).toEqual(['b.yml']);
	});

	it('picks up a file rewritten with the same size and mtime once its ctime moves', async () => {
		const file = path.join(dir, 'a.yml');
		const rewrite = (name: string) => {
			write('a.yml', GOOD(name));
			fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
			return fs.statSync(file, { bigint: true });
		};
		const before = rewrite('one');
		const cache = createWorkflowCache({ now: later });
		expect((await loadWorkflows(dir, { cache })).workflows.map((workflow) => workflow.name)).toEqual(['one']);
		expect((await loadWorkflows(dir, { cache })).workflows.map((workflow) => workflow.name)).toEqual(['one']);
		expect(parsed()).toEqual(['a.yml']);

		let after = rewrite('two');
		// the ctime moves with the file system's clock tick (a few ms): write until it has
		while (after.ctimeNs === before.ctimeNs) after = rewrite('two');
		expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
		expect((await loadWorkflows(dir, { cache })).workflows.map((workflow) => workflow.name)).toEqual(['two']);
	});

	it('shows added, removed and renamed files at once and forgets the removed ones', async () => {
		write('a.yml', GOOD('alpha'));
		write('b.yml', GOOD('beta'));
		const cache = createWorkflowCache({ now: later });
		await loadWorkflows(dir, { cache });
		parsed();

		write('c.yml', GOOD('gamma'));
		fs.rmSync(path.join(dir, 'a.yml'));
		fs.renameSync(path.join(dir, 'b.yml'), path.join(dir, 'b2.yaml'));
		const { workflows, errors } = await loadWorkflows(dir, { cache });
		expect(workflows.map((workflow) => [workflow.name, path.basename(workflow.file)])).toEqual([
			['beta', 'b2.yaml'],
			['gamma', 'c.yml']
		]);
		expect(errors).toEqual([]);
		expect(parsed()).toEqual(['b2.yaml', 'c.yml']);
		expect(cache.size).toBe(2);

		fs.rmSync(dir, { recursive: true });
		await loadWorkflows(dir, { cache });
		expect(cache.size).toBe(0);
	});

	it("keeps a broken file's error with its line without parsing it again, and loads it once fixed", async () => {
		write('broken.yml', 'tasks:\n  build:\n    steps:\n      - name: compile\n');
		const cache = createWorkflowCache({ now: later });
		const error = {
			file: path.join(dir, 'broken.yml'),
			reason: 'line 4: tasks.build.steps[0].run: required',
			line: 4
		};
		expect((await loadWorkflows(dir, { cache })).errors).toEqual([error]);
		expect((await loadWorkflows(dir, { cache })).errors).toEqual([error]);
		expect(parsed()).toEqual(['broken.yml']);

		write('broken.yml', GOOD('fixed'));
		const { workflows, errors } = await loadWorkflows(dir, { cache });
		expect(workflows.map((workflow) => workflow.name)).toEqual(['fixed']);
		expect(errors).toEqual([]);
	});

	it('still decides duplicate names over the whole folder', async () => {
		write('one.yml', GOOD('same'));
		write('two.yml', GOOD('same'));
		const cache = createWorkflowCache({ now: later });
		expect((await loadWorkflows(dir, { cache })).errors).toHaveLength(1);
		expect(parsed()).toEqual(['one.yml', 'two.yml']);

		fs.rmSync(path.join(dir, 'one.yml'));
		const { workflows, errors } = await loadWorkflows(dir, { cache });
		expect(workflows.map((workflow) => path.basename(workflow.file))).toEqual(['two.yml']);
		expect(errors).toEqual([]);
		expect(parsed()).toEqual([]);
	});

	it('reports a FIFO and a file over 1 MiB on every listing, as without a cache', async () => {
		execFileSync('mkfifo', [path.join(dir, 'pipe')]);
		fs.symlinkSync(path.join(dir, 'pipe'), path.join(dir, 'piped.yml'));
		write('big.yml', '#'.repeat(MAX_WORKFLOW_BYTES + 1));
		write('good.yml', GOOD('good'));
		const cache = createWorkflowCache({ now: later });
		const uncached = await loadWorkflows(dir);
		expect(uncached.errors.map((error) => path.basename(error.file))).toEqual(['big.yml', 'piped.yml']);
		parsed();
		expect(await loadWorkflows(dir, { cache })).toEqual(uncached);
		expect(await loadWorkflows(dir, { cache })).toEqual(uncached);
		expect(parsed()).toEqual(['good.yml']);
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
