import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretNameTest } from './masking/secret-env';
import { loadWorkflows, toWorkflowSummary } from './orchestrator/workflow-loader';
import { workflowDetail } from './workflow-detail';

let dir: string;
beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-detail-'));
});
afterEach(() => {
	fs.rmSync(dir, { recursive: true, force: true });
});

async function listed() {
	const { workflows, errors } = await loadWorkflows(dir);
	return { workflows: workflows.map(toWorkflowSummary), errors };
}

describe('workflowDetail', () => {
	it('shows a workflow with its secret values masked', async () => {
		fs.writeFileSync(
			path.join(dir, 'ship.yml'),
			'name: ship\ntasks:\n  a:\n    steps:\n      - run: ./ship.sh\n        env: { NPM_TOKEN: npm-secret-value-123 }\n'
		);
		const detail = await workflowDetail('ship', await listed(), secretNameTest());
		expect(detail?.source).toContain('NPM_TOKEN: ***');
		expect(detail?.source).not.toContain('npm-secret-value-123');
	});

	it('answers for a link to a FIFO with its reason and no source, instead of waiting for a writer', async () => {
		execFileSync('mkfifo', [path.join(dir, 'pipe')]);
		fs.symlinkSync(path.join(dir, 'pipe'), path.join(dir, 'piped.yml'));
		const detail = await workflowDetail('piped', await listed(), secretNameTest());
		expect(detail).toMatchObject({
			workflow: null,
			source: null,
			error: { reason: expect.stringContaining('not a regular file') }
		});
	});
});
