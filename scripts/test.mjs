#!/usr/bin/env node
// Runs everything CI runs, in order, and ends with one line "N passed, N failed".
// Steps: build (integration and e2e tests run the real server on it), type check, lint,
// vitest (unit + integration), Playwright (end to end in Chromium).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const reports = path.resolve('.test-reports');
fs.mkdirSync(reports, { recursive: true });
let passed = 0;
let failed = 0;
const failures = [];

function run(name, cmd, args, env = {}) {
	console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
	const started = Date.now();
	const result = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
	console.log(`=== ${name}: exit ${result.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	return result.status === 0;
}

function step(name, cmd, args) {
	if (run(name, cmd, args)) passed += 1;
	else {
		failed += 1;
		failures.push(name);
	}
}

function readJson(file) {
	try {
		return JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch {
		return null;
	}
}

const npx = 'npx';
step('build', npx, ['vite', 'build']);
step('check', 'npm', ['run', '--silent', 'check']);
step('lint', 'npm', ['run', '--silent', 'lint']);

const vitestJson = path.join(reports, 'vitest.json');
fs.rmSync(vitestJson, { force: true });
const vitestOk = run('vitest', npx, [
	'vitest',
	'run',
	'--reporter=default',
	'--reporter=json',
	`--outputFile.json=${vitestJson}`
]);
const v = readJson(vitestJson);
if (v) {
	passed += v.numPassedTests ?? 0;
	failed +=
		(v.numFailedTests ?? 0) + (v.numFailedTestSuites && !v.numFailedTests ? v.numFailedTestSuites : 0);
	if (!vitestOk && !v.numFailedTests && !v.numFailedTestSuites) {
		failed += 1;
		failures.push('vitest (exited non-zero)');
	}
	if (v.numFailedTests || v.numFailedTestSuites) failures.push('vitest');
} else {
	failed += 1;
	failures.push('vitest (no report)');
}

const pwJson = path.join(reports, 'playwright.json');
fs.rmSync(pwJson, { force: true });
const pwOk = run('playwright', npx, ['playwright', 'test', '--reporter=list,json'], {
	PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson
});
const p = readJson(pwJson);
if (p?.stats) {
	passed += (p.stats.expected ?? 0) + (p.stats.flaky ?? 0);
	failed += p.stats.unexpected ?? 0;
	if (p.stats.unexpected) failures.push('playwright');
	if (!pwOk && !p.stats.unexpected) {
		failed += 1;
		failures.push('playwright (exited non-zero)');
	}
} else {
	failed += 1;
	failures.push('playwright (no report)');
}

if (failures.length) console.log(`\nFailed: ${failures.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
