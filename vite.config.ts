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
 * runs more than one build in this process (server, client); the bundles are built once.
 */
function acoBundles(): Plugin {
	let built: Promise<unknown> | undefined;
	return {
		name: 'aco-bundles',
		apply: (_config, { command }) => command === 'build' && !process.env.VITEST,
		async closeBundle() {
			built ??= bundle({ quiet: true }).then(() => this.info('aco: CLI and server bundles built in dist/'));
			await built;
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
	plugins: [sveltekit(), acoDev(), acoBundles()],
	server: { host: '127.0.0.1' },
	test: {
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
					include: ['tests/integration/**/*.test.ts'],
					testTimeout: 60_000,
					hookTimeout: 60_000
				}
			}
		]
	}
});
