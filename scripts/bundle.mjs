#!/usr/bin/env node
/**
 * @module scripts/bundle
 * Builds what `aco` runs besides SvelteKit's own build: the CLI (`dist/cli.js`) and the server
 * (`dist/server.js`: server.ts, the hub, the orchestrator, the store), as plain ES modules with
 * esbuild. Code split: a command loads only its own chunks, so `aco --help` never reads the
 * server's. Runs as part of `vite build` (the `aco-bundles` plugin in vite.config.ts) and alone
 * (`node scripts/bundle.mjs`).
 *
 * Bundled: every pure-JavaScript dependency, so an installed package needs few of its own.
 * Left outside: native addons (better-sqlite3) and the optional native helpers of ws.
 * No `keepNames`: its `__name` wrapper around every function cost 12 % of the hub's CPU
 * under tsx.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = path.join(ROOT, 'dist');

/** packages loaded from node_modules at run time rather than bundled */
export const EXTERNAL = ['better-sqlite3', 'bufferutil', 'utf-8-validate'];

// esbuild turns a bundled CommonJS `require('fs')` into a call that throws in an ES module
// unless a real `require` is in scope.
const BANNER = [
	"import { createRequire as __acoCreateRequire } from 'node:module';",
	'const require = __acoCreateRequire(import.meta.url);'
].join('\n');

/**
 * The CLI starts the server through `import('../../../server')`; in the bundle that import is
 * the server's own entry file, so `node dist/server.js` and `aco server` run the same module
 * (server.ts checks whether it is the process's main module).
 */
/** @type {import('esbuild').Plugin} */
const serverAsEntry = {
	name: 'aco-server-entry',
	setup(build) {
		build.onResolve({ filter: /\/server$/ }, (args) => {
			const target = path.resolve(args.resolveDir, args.path);
			if (target !== path.join(ROOT, 'server') || args.kind !== 'dynamic-import') return undefined;
			return { path: './server.js', external: true };
		});
	}
};

/** Builds `dist/`; resolves with esbuild's warnings (an error rejects). */
export async function bundle({ quiet = false } = {}) {
	const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
	fs.rmSync(OUT_DIR, { recursive: true, force: true });
	const result = await esbuild.build({
		absWorkingDir: ROOT,
		entryPoints: {
			cli: 'src/cli/main.ts',
			server: 'server.ts',
			// the log read pool's worker thread: read-pool.ts finds it beside its own chunk
			'read-worker': 'src/lib/server/downloads/read-worker.ts',
			// the log search's regex worker thread: regex-pool.ts finds it beside its own chunk
			'regex-worker': 'src/lib/server/store/regex-worker.ts',
			// a large workflow file's parse thread: workflow-parse.ts finds it beside its own chunk
			'parse-worker': 'src/lib/server/orchestrator/parse-worker.ts'
		},
		outdir: OUT_DIR,
		bundle: true,
		splitting: true,
		format: 'esm',
		platform: 'node',
		target: 'node20.19',
		// chunks beside the entries: a module's relative paths mean the same from every file
		chunkNames: 'chunk-[hash]',
		external: EXTERNAL,
		banner: { js: BANNER },
		define: {
			__ACO_VERSION__: JSON.stringify(pkg.version),
			__ACO_BUNDLED__: 'true'
		},
		keepNames: false,
		sourcemap: 'linked',
		legalComments: 'none',
		logLevel: quiet ? 'error' : 'warning',
		plugins: [serverAsEntry],
		metafile: true
	});
	// `npm pack` and `node dist/…` find an ES module by the nearest package.json, which is the
	// project's ("type": "module"); this one keeps that true when dist/ is copied elsewhere.
	fs.writeFileSync(path.join(OUT_DIR, 'package.json'), '{ "type": "module" }\n');
	return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const started = performance.now();
	bundle().then(
		(result) => {
			const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
			const bytes = files.reduce((sum, f) => sum + result.metafile.outputs[f].bytes, 0);
			console.log(
				`aco bundles: ${files.length} files, ${(bytes / 1024).toFixed(0)} KiB in dist/ ` +
					`(${Math.round(performance.now() - started)} ms)`
			);
		},
		(err) => {
			console.error(err instanceof Error ? err.message : err);
			process.exit(1);
		}
	);
}
