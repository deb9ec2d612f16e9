import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build' }),
		// SvelteKit's own CSRF check is off: it ran before src/hooks.server.ts and refused, in plain
		// text, any POST with a form's content type and no matching Origin, so programs (curl's
		// default type) could not reach the API. The hook's access guard does the job instead: an
		// Origin must be allowed, a form posted to a page must name one, and the API reads bodies
		// only as JSON (see src/lib/server/auth/guard.ts).
		csrf: { trustedOrigins: ['*'] },
		// Pages may run only the app's own scripts: SvelteKit's one inline bootstrap script gets a
		// nonce per response, so 'unsafe-inline' is never needed for scripts. Styles allow inline
		// style attributes (components set widths and colours through them); they cannot run code.
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:'],
				'font-src': ['self'],
				// 'self' covers the hub's ws:// or wss:// on the same host (CSP Level 3)
				'connect-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['none'],
				'form-action': ['self'],
				'frame-ancestors': ['none']
			}
		}
	}
};

export default config;
