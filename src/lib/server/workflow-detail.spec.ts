import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { secretNameTest } from './masking/secret-env';
import { redactWorkflowSource } from './masking/workflow-source';
import { loadWorkflows, toWorkflowSummary } from './orchestrator/workflow-loader';
import { MAX_SOURCE_BYTES, WorkflowSources, workflowDetail } from './workflow-detail';

// masking is the detail's YAML parse: counting its calls counts the parses
vi.mock('./masking/workflow-source', async (importOriginal) => {
	const actual = await importOriginal<typeof import('./masking/workflow-source')>();
	return { ...actual, redactWorkflowSource: vi.fn(actual.redactWorkflowSource) };
});

let dir: string;
beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-detail-'));
	vi.mocked(redactWorkflowSource).mockClear();
});
afterEach(() => {
	fs.rmSync(dir, { recursive: true, force: true });
});

async function listed() {
	const { workflows, errors } = await loadWorkflows(dir);
	return { workflows: workflows.map(toWorkflowSummary), errors };
}

function parses(): number {
	return vi.mocked(redactWorkflowSource).mock.calls.length;
}

const SHIP =
	'name: ship\ntasks:\n  a:\n    steps:\n      - run: ./ship.sh\n        env: { NPM_TOKEN: npm-secret-value-123 }\n';

describe('workflowDetail', () => {
	it('shows a workflow with its secret values masked', async () => {
		fs.writeFileSync(path.join(dir, 'ship.yml'), SHIP);
		const detail = await workflowDetail('ship', await listed(), new WorkflowSources(secretNameTest()));
		expect(detail?.source).toContain('NPM_TOKEN: ***');
		expect(detail?.source).not.toContain('npm-secret-value-123');
	});

	it('answers for a link to a FIFO with its reason and no source, instead of waiting for a writer', async () => {
		execFileSync('mkfifo', [path.join(dir, 'pipe')]);
		fs.symlinkSync(path.join(dir, 'pipe'), path.join(dir, 'piped.yml'));
		const detail = await workflowDetail('piped', await listed(), new WorkflowSources(secretNameTest()));
		expect(detail).toMatchObject({
			workflow: null,
			source: null,
			error: { reason: expect.stringContaining('not a regular file') }
		});
	});

	it('does not parse an unchanged workflow again for a second view, and shows the same', async () => {
		fs.writeFileSync(path.join(dir, 'ship.yml'), SHIP);
		const sources = new WorkflowSources(secretNameTest());
		const list = await listed();
		const first = await workflowDetail('ship', list, sources);
		expect(parses()).toBe(1);
		const second = await workflowDetail('ship', list, sources);
		expect(parses()).toBe(1);
		expect(second).toEqual(first);
		expect(second?.source).toContain('NPM_TOKEN: ***');
	});

	it('shows the new content of a changed workflow, masked', async () => {
		const file = path.join(dir, 'ship.yml');
		fs.writeFileSync(file, SHIP);
		const sources = new WorkflowSources(secretNameTest());
		await workflowDetail('ship', await listed(), sources);
		fs.writeFileSync(file, SHIP.replace('./ship.sh', './ship-v2.sh').replace('123', '456'));
		const detail = await workflowDetail('ship', await listed(), sources);
		expect(detail?.source).toContain('./ship-v2.sh');
		expect(detail?.source).toContain('NPM_TOKEN: ***');
		expect(detail?.source).not.toContain('npm-secret-value-456');
		expect(parses()).toBe(2);
	});

	it('shows a broken file by its name: line with its error and line, parsed once, and again once changed', async () => {
		const file = path.join(dir, 'oops.yml');
		fs.writeFileSync(
			file,
			'name: broken-one\ntasks:\n  a:\n    steps:\n      - env: { API_KEY: k-123456 }\n'
		);
		const sources = new WorkflowSources(secretNameTest());
		const list = await listed();
		const first = await workflowDetail('broken-one', list, sources);
		expect(first).toMatchObject({ workflow: null, file, error: { file, line: 5 } });
		expect(first?.source).toContain('API_KEY: ***');
		expect(await workflowDetail('broken-one', list, sources)).toEqual(first);
		expect(parses()).toBe(1);

		fs.writeFileSync(file, 'name: broken-one\ntasks:\n  b:\n    steps: []\n    nope: 1\n');
		const changed = await workflowDetail('broken-one', await listed(), sources);
		expect(changed?.source).toContain('nope: 1');
		expect(changed?.error?.reason).not.toBe(first?.error?.reason);
	});

	it('says a source is cut once the file grows past the limit, though its first bytes are the same', async () => {
		const file = path.join(dir, 'big.yml');
		fs.writeFileSync(
			file,
			`name: big\ntasks:\n  a:\n    steps:\n      - run: ./a.sh\n#`.padEnd(MAX_SOURCE_BYTES, 'x')
		);
		const sources = new WorkflowSources(secretNameTest());
		expect(await workflowDetail('big', await listed(), sources)).toMatchObject({ source_truncated: false });
		fs.appendFileSync(file, 'x');
		const grown = await workflowDetail('big', await listed(), sources);
		expect(grown).toMatchObject({ source_truncated: true });
		expect(Buffer.byteLength(grown?.source ?? '')).toBe(MAX_SOURCE_BYTES);
	});

	it('forgets the files the listing no longer has', async () => {
		fs.writeFileSync(path.join(dir, 'ship.yml'), SHIP);
		fs.writeFileSync(path.join(dir, 'other.yml'), SHIP.replace('ship', 'other'));
		const sources = new WorkflowSources(secretNameTest());
		await workflowDetail('ship', await listed(), sources);
		await workflowDetail('other', await listed(), sources);
		expect(sources.size).toBe(2);
		fs.rmSync(path.join(dir, 'other.yml'));
		await workflowDetail('ship', await listed(), sources);
		expect(sources.size).toBe(1);
	});
});
