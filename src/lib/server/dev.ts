/**
 * @module dev
 * `npm run dev`: the Vite plugin in vite.config.ts calls this to give Vite's HTTP server the
 * same context and hub that server.ts builds in production. Vite's own HMR upgrades are left
 * alone.
 */
import type { Server as HttpServer } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import { loadConfig } from './config';
import { createContext } from './context';
import { getContext, setContext } from './global';
import { isHubPath } from './upgrade';

export async function attachDev(httpServer: HttpServer | Http2SecureServer): Promise<void> {
	if (getContext()) return;
	const context = await createContext(loadConfig());
	setContext(context);
	httpServer.on('upgrade', (req, socket, head) => {
		if (isHubPath(req)) context.hub.handleUpgrade(req, socket, head);
	});
	httpServer.on('close', () => {
		setContext(undefined);
		void context.close(1012);
	});
	context.logger.info({ workflowsDir: context.config.orchestrator.workflowsDir }, 'dev hub attached on /ws');
}
