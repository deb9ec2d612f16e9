#!/usr/bin/env node
// The `aco` command: runs the CLI bundle that `npm run build` makes (scripts/bundle.mjs), plain
// JavaScript, so a command starts in a fraction of a second.
try {
	await import('../dist/cli.js');
} catch (err) {
	if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
		console.error('aco: the command is not built yet; run "npm run build" in the aco folder first.');
		process.exit(1);
	}
	throw err;
}
