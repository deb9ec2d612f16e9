import path from 'node:path';
import { sveltekit } from '@sveltejs/kit/vite';
import type { EnvironmentModuleNode, Plugin, ViteDevServer } from 'vite';
import { defineConfig } from 'vitest/config';
import type { DevAttachment } from './src/lib/server/dev';
import { bundle } from './scripts/bundle.mjs';

const DEV_MODULE = 'src/lib/server/dev.ts';

/**
 * Dev mode: attach the same hub and orchestrator that server.ts builds to Vite's own HTTP
 * server, so `npm run dev` behaves like production (see src/lib/server/dev.ts). Not applied in
 * `vite build`, under vitest, or without an HTTP server of Vite's own (middleware mode).
 */
function acoDev(): Plugin {
	let dev: DevAttachment | undefined;
	let releaseSignals = () => {};
	return {
		name: 'aco-dev-hub',
		apply: (_config, { command, mode }) => command === 'serve' && mode !== 'test' && !process.env.VITEST,
		async configureServer(server: ViteDevServer) {
			if (!server.httpServer) return;
			const { attachDev, closeOnSignals } = (await server.ssrLoadModule(
				`/${DEV_MODULE}`
			)) as typeof import('./src/lib/server/dev');
			dev = await attachDev(server.httpServer);
			releaseSignals = closeOnSignals(dev, () => server.close());
		},
		// HMR gives routes the new code, but the running context keeps the modules it was built from.
		hotUpdate({ file, modules, server }) {
			if (!dev || this.environment.name !== 'ssr') return;
			const devFile = path.join(server.config.root, DEV_MODULE);
			if (!modules.some((mod) => importedBy(mod, devFile))) return;
			server.config.logger.warn(
				`${path.relative(server.config.root, file)} changed: the dev hub and orchestrator run the ` +
					'previous code until the dev server restarts (r + enter)',
				{ timestamp: true }
			);
		},
		// After a restart this instance's context is already closed by the new server's; close() is idempotent.
		async closeServer() {
			releaseSignals();
			await dev?.close();
		}
	};
}

/**
 * `vite build` also builds the CLI and server bundles in dist/ (scripts/bundle.mjs), so
 * `npm run build`, `npm start`, `npm test` and CI get them without a step of their own. SvelteKit
 * builds the server and then the client, each with its own plugin instances; the bundles are
 * built once, with the server.
 */
function acoBundles(): Plugin {
	return {
		name: 'aco-bundles',
		apply: (_config, { command }) => command === 'build' && !process.env.VITEST,
		async closeBundle() {
			if (this.environment.name !== 'ssr') return;
			await bundle({ quiet: true });
			this.info('aco: CLI and server bundles built in dist/');
		}
	};
}

/**
 * Lines of `vite build` that tell an aco user nothing: SvelteKit's "Run npm run preview" hint
 * (aco is served by `aco server`) and what adapter-node's own Rollup build says about code it
 * bundles as it is (empty chunks of type-only modules, zod's comments and import cycles).
 * Neither tool has an option for them.
 */
const BUILD_NOISE = [
	/to preview your production build locally/,
	/^Generated an empty chunk: /,
	/contains an annotation that Rollup cannot interpret/,
	/^Circular dependency: node_modules\//
];

function quietBuild(): Plugin {
	return {
		name: 'aco-quiet-build',
		apply: (_config, { command }) => command === 'build' && !process.env.VITEST,
		configResolved() {
			for (const method of ['log', 'warn'] as const) {
				const original = console[method];
				console[method] = (...args: unknown[]) => {
					const text = typeof args[0] === 'string' ? args[0] : '';
					if (!BUILD_NOISE.some((noise) => noise.test(text))) original(...args);
				};
			}
		}
	};
}

/** Whether `file` is `mod` or (transitively) imports it. */
function importedBy(mod: EnvironmentModuleNode, file: string): boolean {
	const seen = new Set<EnvironmentModuleNode>();
	const queue = [mod];
	for (let next = queue.pop(); next; next = queue.pop()) {
		if (next.file === file) return true;
		if (seen.has(next)) continue;
		seen.add(next);
		queue.push(...next.importers);
	}
	return false;
}

export default defineConfig({
	plugins: [sveltekit(), acoDev(), acoBundles(), quietBuild()],
	// the "[PLUGIN_TIMINGS]" block Rolldown prints when plugins take a while: for plugin authors
	build: { rolldownOptions: { checks: { bundlerTimings: false } } },
	server: { host: '127.0.0.1' },
	test: {
		// a condition a test waits for may take a spawned tool or a database write: a loaded 2-core
		// machine needs more than the default second (a poll still ends as soon as it holds)
		expect: { poll: { timeout: 10_000 } },
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					environment: 'node',
					include: ['src/**/*.spec.ts'],
					testTimeout: 20_000
				}
			},
			{
				extends: true,
				test: {
					name: 'integration',
					environment: 'node',
					include: ['tests/integration/**/*.test.ts', 'tests/security/**/*.test.ts'],
					testTimeout: 60_000,
					hookTimeout: 60_000
				}
			}
		]
	}
});
