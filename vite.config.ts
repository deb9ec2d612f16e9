import { sveltekit } from '@sveltejs/kit/vite';
import type { Plugin, ViteDevServer } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * Dev mode: attach the same hub and orchestrator that server.ts builds to Vite's own HTTP
 * server, so `npm run dev` behaves like production.
 */
function acoDev(): Plugin {
	return {
		name: 'aco-dev-hub',
		apply: 'serve',
		async configureServer(server: ViteDevServer) {
			if (process.env.VITEST || !server.httpServer) return;
			const { attachDev } = (await server.ssrLoadModule(
				'/src/lib/server/dev.ts'
			)) as typeof import('./src/lib/server/dev');
			await attachDev(server.httpServer);
		}
	};
}

export default defineConfig({
	plugins: [sveltekit(), acoDev()],
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
