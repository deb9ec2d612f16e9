#!/usr/bin/env node
/**
 * Simulated build work for the demo workflow: steady, deterministic output with
 * `::progress value=N::message` lines, so the dashboard has something true to show.
 *
 * usage: node demo/work.mjs <install|compile|bundle|unit|integration|lint>
 *          [--items N] [--from P] [--to P]
 * ACO_DEMO_TICK_MS sets the time per item (default 300 ms); tests make it short.
 */
import { parseArgs } from 'node:util';

const DEFAULT_TICK_MS = 300;

const MODULES = [
	'config',
	'logger',
	'ids',
	'store',
	'migrations',
	'rows',
	'bus',
	'hub',
	'session',
	'heartbeat',
	'filters',
	'history',
	'schedule',
	'tool-runner',
	'line-splitter',
	'log-pipeline',
	'progress',
	'workflow-file',
	'workflow-loader',
	'orchestrator',
	'routes',
	'api',
	'cli',
	'server'
];

const { positionals, values } = parseArgs({
	allowPositionals: true,
	options: {
		items: { type: 'string', default: '10' },
		from: { type: 'string', default: '0' },
		to: { type: 'string', default: '100' }
	}
});

const kind = positionals[0];
const items = Number(values.items);
const from = Number(values.from);
const to = Number(values.to);
const tick = Number(process.env.ACO_DEMO_TICK_MS ?? DEFAULT_TICK_MS);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const moduleName = (i) => MODULES[i % MODULES.length];
const progress = (done, message) => {
	const value = Math.round(from + ((to - from) * done) / items);
	console.log(`::progress value=${value}::${message}`);
};

/** what one item of each kind of work prints; returns false when the item fails */
const WORK = {
	install(i) {
		console.log(`fetching ${moduleName(i)}@1.${i}.0`);
		progress(i + 1, `Installed ${i + 1} of ${items} packages`);
	},
	compile(i) {
		console.log(`compiling src/lib/${moduleName(i)}.ts`);
		if (i % 6 === 5) console.log(`  emitted build/${moduleName(i)}.js (${1200 + i * 37} bytes)`);
		progress(i + 1, `Compiled ${i + 1}/${items} modules`);
	},
	bundle(i) {
		console.log(`bundling chunk ${i + 1}/${items}: ${moduleName(i * 3)} + ${moduleName(i * 3 + 1)}`);
		progress(i + 1, `Bundling chunk ${i + 1}/${items}`);
	},
	unit(i) {
		console.log(`  ✓ ${moduleName(i)} behaves (${((i * 7) % 40) + 2} ms)`);
		progress(i + 1, `${i + 1}/${items} unit tests passed`);
	},
	integration(i) {
		console.log(`  ✓ scenario ${i + 1}: ${moduleName(i + 5)} end to end`);
		// real test runners print warnings on stderr; the log view shows them apart
		if (i % 3 === 1)
			console.error(`warning: ${moduleName(i + 5)} uses a deprecated option (scenario ${i + 1})`);
		progress(i + 1, `${i + 1}/${items} integration scenarios passed`);
	},
	lint(i) {
		console.log(`checking src/lib/${moduleName(i)}.ts`);
		if (i % 4 === 3) console.log(`  src/lib/${moduleName(i)}.ts:${10 + i}:5  warning  no-unused-vars`);
		progress(i + 1, `Linted ${i + 1}/${items} files`);
	}
};

if (!WORK[kind] || !Number.isInteger(items) || items < 1) {
	console.error(`usage: node work.mjs <${Object.keys(WORK).join('|')}> [--items N] [--from P] [--to P]`);
	process.exit(2);
}

// the demo's optional task always fails part-way, so the dashboard shows a tolerated failure
const failAt = kind === 'lint' ? Math.ceil(items * 0.7) : items;

console.log(`== ${kind}: ${items} items ==`);
for (let i = 0; i < failAt; i++) {
	await sleep(tick);
	WORK[kind](i);
}

if (failAt < items) {
	console.error(`src/lib/${moduleName(7)}.ts:42:1  error  flaky rule: line ending changed between runs`);
	console.log('✖ 4 problems (1 error, 3 warnings)');
	process.exit(1);
}
console.log(`== ${kind}: done ==`);
