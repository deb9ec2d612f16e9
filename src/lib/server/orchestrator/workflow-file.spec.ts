import { describe, expect, it } from 'vitest';
import { MaskSet } from '../masking/mask-set';
import {
	describePath,
	MAX_ANCHORS_AND_ALIASES,
	parseWorkflowFile,
	shownStepName,
	type ParseResult,
	type WorkflowDef
} from './workflow-file';

const FILE = '/flows/ci.yml';

function ok(result: ParseResult): WorkflowDef {
	if (!result.ok) throw new Error(`expected the file to load, got: ${result.error.reason}`);
	return result.workflow;
}

/** `tasks` tasks that all run the first one's steps, which share one env */
function matrixWorkflow(tasks: number): string {
	const first =
		'  t0:\n    steps: &steps\n      - run: make\n        env: &env { MODE: ci }\n      - run: make test\n        env: *env\n';
	return (
		'tasks:\n' +
		first +
		Array.from({ length: tasks - 1 }, (_, i) => `  t${i + 1}:\n    steps: *steps\n`).join('')
	);
}

/** seven levels of ten aliases each: ten million values once written out */
const ALIAS_BOMB = [
	'a: &a [x, x, x, x, x, x, x, x, x, x]',
	...[...'bcdefg'].map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`)
].join('\n');

function reason(result: ParseResult, file = FILE): string {
	if (result.ok) throw new Error('expected the file to be rejected');
	expect(result.error.file).toBe(file);
	return result.error.reason;
}

describe('parseWorkflowFile', () => {
	it('reads a complete workflow with every field', () => {
		const workflow = ok(
			parseWorkflowFile(
				`name: ci
description: Build and test
tasks:
  setup:
    steps:
      - run: npm ci
  build:
    name: Build
    needs: [setup]
    optional: true
    weight: 2
    retries: 2
    steps:
      - name: compile
        run: node
        args: [-e, "console.log(1)", 3]
        cwd: ./sub
        env: { MODE: prod, LEVEL: 2 }
        timeout: 1.5
`,
				FILE
			)
		);
		expect(workflow).toEqual({
			name: 'ci',
			description: 'Build and test',
			file: FILE,
			tasks: [
				{
					key: 'setup',
					name: 'setup',
					needs: [],
					optional: false,
					weight: 1,
					retries: 0,
					steps: [
						{ name: 'npm ci', command: 'sh', args: ['-c', 'npm ci'], cwd: '/flows', env: {}, timeoutMs: null }
					]
				},
				{
					key: 'build',
					name: 'Build',
					needs: ['setup'],
					optional: true,
					weight: 2,
					retries: 2,
					steps: [
						{
							name: 'compile',
							command: 'node',
							args: ['-e', 'console.log(1)', '3'],
							cwd: '/flows/sub',
							env: { MODE: 'prod', LEVEL: '2' },
							timeoutMs: 1500
						}
					]
				}
			]
		});
	});

	it('names the workflow after its file when the name is missing', () => {
		expect(
			ok(parseWorkflowFile('tasks:\n  a:\n    steps: [{ run: ls }]\n', '/x/nightly-build.yaml')).name
		).toBe('nightly-build');
	});

	it('accepts needs given as a single string', () => {
		const workflow = ok(
			parseWorkflowFile(
				'tasks:\n  a:\n    steps: [{run: ls}]\n  b:\n    needs: a\n    steps: [{run: ls}]\n',
				FILE
			)
		);
		expect(workflow.tasks[1].needs).toEqual(['a']);
	});

	it('reports a YAML syntax error with its line', () => {
		expect(reason(parseWorkflowFile('name: x\ntasks:\n  build: [\n', FILE))).toMatch(/^line \d+: /);
	});

	it('reports a missing step command by its path and line', () => {
		const text = 'tasks:\n  build:\n    steps:\n      - name: compile\n';
		expect(reason(parseWorkflowFile(text, FILE))).toBe('line 4: tasks.build.steps[0].run: required');
	});

	it('reports a misspelt key whose value is a block on the line of the key', () => {
		const text =
			'tasks:\n  build:\n    steps:\n      - run: make\n        name: x\n        envv:\n          A: b\n';
		expect(reason(parseWorkflowFile(text, FILE))).toBe("line 6: tasks.build.steps[0]: unknown key 'envv'");
	});

	it('reports a misspelt key where it is written', () => {
		const text = 'tasks:\n  build:\n    steps:\n      - run: make\n        timeot: 5\n';
		expect(reason(parseWorkflowFile(text, FILE))).toBe("line 5: tasks.build.steps[0]: unknown key 'timeot'");
	});

	it('reports a value of the wrong type', () => {
		const text = 'tasks:\n  build:\n    steps:\n      - run: make\n        timeout: soon\n';
		expect(reason(parseWorkflowFile(text, FILE))).toBe(
			'line 5: tasks.build.steps[0].timeout: must be a number'
		);
	});

	it('reports a weight or a timeout out of range, which would hang the run or fire at once', () => {
		// weights of 1e308 add up to Infinity: the run's progress could never be stored
		const heavy = 'tasks:\n  a:\n    weight: 1e308\n    steps:\n      - run: make\n';
		expect(reason(parseWorkflowFile(heavy, FILE))).toMatch(/^line 3: tasks\.a\.weight: .*1000000/);
		// 0.0001 s rounds to 0 ms; 1e9 s is past what a timer can wait, so it would fire at once
		for (const timeout of ['0.0001', '1e9', '0', '-1']) {
			const text = `tasks:\n  a:\n    steps:\n      - run: make\n        timeout: ${timeout}\n`;
			expect(reason(parseWorkflowFile(text, FILE)), timeout).toMatch(
				/^line 5: tasks\.a\.steps\[0\]\.timeout: /
			);
		}
		const fine = 'tasks:\n  a:\n    weight: 1000000\n    steps:\n      - run: make\n        timeout: 0.001\n';
		const parsed = parseWorkflowFile(fine, FILE);
		expect(parsed.ok && parsed.workflow.tasks[0]!.steps[0]!.timeoutMs).toBe(1);
	});

	it('reports a NUL character in a name, command, argument or variable, where it is written', () => {
		const step = (line: string) => `tasks:\n  build:\n    steps:\n      - run: make\n        ${line}\n`;
		expect(reason(parseWorkflowFile(step('name: "a\\0b"'), FILE))).toBe(
			'line 5: tasks.build.steps[0].name: contains a NUL character; remove it'
		);
		expect(reason(parseWorkflowFile(step('args: [x, "y\\0"]'), FILE))).toBe(
			'line 5: tasks.build.steps[0].args[1]: contains a NUL character; remove it'
		);
		expect(reason(parseWorkflowFile(step('env: { A: "\\0" }'), FILE))).toBe(
			'line 5: tasks.build.steps[0].env.A: contains a NUL character; remove it'
		);
		expect(reason(parseWorkflowFile(step('env: { "A\\0": x }'), FILE))).toBe(
			'line 5: tasks.build.steps[0].env.A\u0000: contains a NUL character; remove it'
		);
		const run = 'tasks:\n  build:\n    name: "b\\0"\n    steps:\n      - run: "printf \\0"\n';
		expect(reason(parseWorkflowFile(run, FILE))).toMatch(
			/^line 3: tasks\.build\.name: contains a NUL character; remove it; line 5: tasks\.build\.steps\[0\]\.run: /
		);
	});

	it('reports retries that are not a small whole number', () => {
		const text = 'tasks:\n  build:\n    retries: 1.5\n    steps:\n      - run: make\n';
		expect(reason(parseWorkflowFile(text, FILE))).toMatch(/^line 3: tasks\.build\.retries: /);
		const many = 'tasks:\n  build:\n    retries: 99\n    steps:\n      - run: make\n';
		expect(reason(parseWorkflowFile(many, FILE))).toMatch(/^line 3: tasks\.build\.retries: .*10/);
	});

	it('reports a need that names no task', () => {
		const text = 'tasks:\n  build:\n    needs: [setup]\n    steps: [{run: make}]\n';
		expect(reason(parseWorkflowFile(text, FILE))).toBe("line 3: tasks.build.needs[0]: unknown task 'setup'");
	});

	it('reports a dependency cycle with the tasks on it', () => {
		const text =
			'tasks:\n  a:\n    needs: [c]\n    steps: [{run: ls}]\n  b:\n    needs: [a]\n    steps: [{run: ls}]\n' +
			'  c:\n    needs: [b]\n    steps: [{run: ls}]\n';
		expect(reason(parseWorkflowFile(text, FILE))).toMatch(
			/dependency cycle (a|b|c) → (a|b|c) → (a|b|c) → \1/
		);
	});

	it('reads a chain of thousands of tasks listed against the order they run in, and finds a cycle closing it', () => {
		const count = 8_000;
		// t0 needs t1, which needs t2, …: each task is listed before the one it needs; `closed`: the last needs t0
		const chain = (closed: boolean) =>
			'tasks:\n' +
			Array.from({ length: count }, (_, i) => {
				const need = i + 1 < count ? `t${i + 1}` : closed ? 't0' : null;
				return `  t${i}:\n${need ? `    needs: [${need}]\n` : ''}    steps: [{run: ls}]\n`;
			}).join('');
		expect(ok(parseWorkflowFile(chain(false), FILE)).tasks).toHaveLength(count);
		expect(reason(parseWorkflowFile(chain(true), FILE))).toMatch(/dependency cycle t\d+ → t\d+ → /);
	});

	it('reports a task that needs itself as a cycle', () => {
		const text = 'tasks:\n  a:\n    needs: [a]\n    steps: [{run: ls}]\n';
		expect(reason(parseWorkflowFile(text, FILE))).toContain('dependency cycle a → a');
	});

	it('reports an empty file, a file without tasks and a file that is not a mapping', () => {
		expect(reason(parseWorkflowFile('', FILE))).toBe('the file is empty');
		expect(reason(parseWorkflowFile('name: x\n', FILE))).toBe('line 1: tasks: required');
		expect(reason(parseWorkflowFile('tasks: {}\n', FILE))).toBe('tasks: a workflow needs at least one task');
		expect(reason(parseWorkflowFile('- a\n- b\n', FILE))).toContain('expected a mapping');
	});

	it('reports a task without steps and a task key that cannot be used', () => {
		expect(reason(parseWorkflowFile('tasks:\n  a:\n    steps: []\n', FILE))).toBe(
			'line 3: tasks.a.steps: needs at least 1 item'
		);
		expect(reason(parseWorkflowFile('tasks:\n  "9 lives":\n    steps: [{run: ls}]\n', FILE))).toContain(
			'tasks.9 lives: not a valid task key'
		);
	});

	it('reports duplicate task keys', () => {
		const text = 'tasks:\n  a:\n    steps: [{run: ls}]\n  a:\n    steps: [{run: ls}]\n';
		expect(reason(parseWorkflowFile(text, FILE))).toMatch(/^line 4: .*unique/);
	});

	it("refuses a '__proto__' key, a task's or a variable's, with its line, instead of dropping it", () => {
		const message = "key '__proto__' cannot be used in a workflow; choose another name";
		const task =
			'tasks:\n  __proto__:\n    steps: [{run: ls}]\n  b:\n    needs: [__proto__]\n    steps: [{run: ls}]\n';
		expect(reason(parseWorkflowFile(task, FILE))).toBe(`line 2: ${message}`);
		const variable = 'tasks:\n  a:\n    steps:\n      - run: ls\n        env: { A: x, "__proto__": y }\n';
		expect(reason(parseWorkflowFile(variable, FILE))).toBe(`line 5: ${message}`);
	});

	it('reports a repeated key in a flow mapping with its line', () => {
		const text = 'tasks:\n  a:\n    steps: [{ run: ls, run: pwd }]\n';
		expect(reason(parseWorkflowFile(text, FILE))).toBe(
			"line 3: key 'run' appears twice in the same mapping; keys must be unique"
		);
	});

	it('reads a matrix workflow whose tasks share their steps through more than 100 aliases', () => {
		const workflow = ok(parseWorkflowFile(matrixWorkflow(102), FILE));
		expect(workflow.tasks).toHaveLength(102);
		expect(workflow.tasks[101].steps.map((step) => [step.name, step.env])).toEqual([
			['make', { MODE: 'ci' }],
			['make test', { MODE: 'ci' }]
		]);
	});

	it('reports aliases that expand to millions of values instead of expanding them', () => {
		expect(reason(parseWorkflowFile(ALIAS_BOMB, FILE))).toBe(
			'the file expands to more than 1,000,000 values once its aliases are written out; repeat less through aliases'
		);
	});

	it('reports a list that holds itself through an alias', () => {
		const text = 'tasks:\n  a:\n    steps: &s [{ run: ls }, *s]\n';
		expect(reason(parseWorkflowFile(text, FILE))).toMatch(/^the file expands to more than/);
	});

	it('reports an alias without an anchor before it, with its line', () => {
		const text = 'tasks:\n  a:\n    steps:\n      - run: *cmd\n';
		expect(reason(parseWorkflowFile(text, FILE))).toBe('line 4: alias *cmd has no anchor &cmd before it');
	});

	it('reports more anchors and aliases than a file may hold at the first one too many', () => {
		const env = Array.from(
			{ length: MAX_ANCHORS_AND_ALIASES / 2 + 1 },
			(_, i) => `  a${i}: &a${i} x\n  b${i}: *a${i}\n`
		);
		const text =
			'tasks:\n  a:\n    steps:\n      - run: ls\n        env:\n' + env.join('').replace(/^/gm, '        ');
		const line = 5 + MAX_ANCHORS_AND_ALIASES + 1;
		expect(parseWorkflowFile(text, FILE)).toMatchObject({
			ok: false,
			error: {
				line,
				reason: `line ${line}: more than ${MAX_ANCHORS_AND_ALIASES} anchors and aliases; write the repeated parts out or split the workflow`
			}
		});
	});

	it('shows the first few of tens of thousands of problems with their lines and counts the rest', () => {
		const tasks = 40_000;
		const text = 'tasks:\n' + Array.from({ length: tasks }, (_, i) => `  t${i}: { steps: [] }\n`).join('');
		expect(reason(parseWorkflowFile(text, FILE))).toBe(
			'line 2: tasks.t0.steps: needs at least 1 item; line 3: tasks.t1.steps: needs at least 1 item; ' +
				`line 4: tasks.t2.steps: needs at least 1 item; and ${tasks - 3} more problems`
		);
	});

	it('lists a few problems at once and counts the rest', () => {
		const text = 'tasks:\n' + ['a', 'b', 'c', 'd', 'e'].map((key) => `  ${key}:\n    steps: []\n`).join('');
		const text2 = reason(parseWorkflowFile(text, FILE));
		expect(text2.split('; ')).toHaveLength(4);
		expect(text2).toMatch(/and 2 more problems$/);
	});

	it('rejects a file name that cannot serve as a workflow name', () => {
		const file = '/x/my flow.yml';
		expect(reason(parseWorkflowFile('tasks:\n  a:\n    steps: [{run: ls}]\n', file), file)).toContain(
			"set 'name'"
		);
	});
});

describe('describePath', () => {
	it('writes keys with dots and indexes in brackets', () => {
		expect(describePath(['tasks', 'build', 'steps', 0, 'run'])).toBe('tasks.build.steps[0].run');
		expect(describePath([])).toBe('(top level)');
	});
});

describe('shownStepName', () => {
	const SECRET = 'Zq81-live-deploy-key';
	const mask = (text: string) => new MaskSet([SECRET]).mask(text);
	const steps = ok(
		parseWorkflowFile(
			[
				'tasks:',
				'  push:',
				'    steps:',
				`      - run: 'curl -H X-Token:${SECRET} https://example.invalid'`,
				'      - run: node',
				`        args: [-e, 'fetch("https://x.invalid/m",{headers:{t:"${SECRET}"}})']`,
				`      - name: push with ${SECRET}`,
				`        run: 'true ${SECRET}'`,
				'      - name: build',
				'        run: make'
			].join('\n'),
			FILE
		)
	).tasks[0].steps;

	it("masks a command line whole before cutting it to a step's default name, in either form of step", () => {
		// cut unmasked, the second name would end in the secret's first characters
		expect(steps[1].name).toMatch(/t:"Zq81-live-…$/);
		expect(steps.slice(0, 2).map((step) => shownStepName(step, mask))).toEqual([
			'curl -H X-Token:*** https://example.invalid',
			'node -e fetch("https://x.invalid/m",{headers:{t:"***"}})'
		]);
	});

	it('masks a name the step gives itself, and leaves one without secrets as written', () => {
		expect(shownStepName(steps[2], mask)).toBe('push with ***');
		expect(shownStepName(steps[3], mask)).toBe('build');
	});
});
