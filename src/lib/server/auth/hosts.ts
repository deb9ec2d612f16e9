/**
 * @module auth/hosts
 * Which `Host` and `Origin` header values this server answers, each an exact allowlist.
 *
 * Host: DNS rebinding points an attacker's name (evil.example) at 127.0.0.1, so a page on
 * evil.example reaches this server as "same origin"; its requests still say `Host:
 * evil.example:PORT`, which no allowlist holds. Allowed by default: the loopback names with the
 * port the server listens on, the bound address itself, and every interface address when bound
 * to all of them (an IP literal cannot be rebound). Deployments add the names people use:
 * `ACO_PUBLIC_URL` (the origins of the app, e.g. https://aco.example.com) and `ACO_ALLOWED_HOSTS`.
 *
 * Origin: a browser page may only drive the server (its API and its hub) from one of its own
 * origins (`http://` + an allowed host, or a public URL) or one listed in `ACO_ALLOWED_ORIGINS`.
 */
import os from 'node:os';

export interface HostPolicyOptions {
	/** the address the server binds (HOST) */
	bindHost: string;
	/** the app's public origins (ACO_PUBLIC_URL), e.g. https://aco.example.com */
	publicUrls?: readonly string[];
	/** more `Host` values accepted, `host[:port]` (ACO_ALLOWED_HOSTS) */
	allowedHosts?: readonly string[];
	/** more page origins allowed (ACO_ALLOWED_ORIGINS) */
	allowedOrigins?: readonly string[];
	/** the machine's addresses, for a server bound to all of them */
	interfaces?: () => string[];
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopbackHost(host: string): boolean {
	const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
	return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

export function isWildcardHost(host: string): boolean {
	return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * A `host[:port]` in the form a browser sends it for `scheme` (lower case, default port left
 * out, IPv6 in brackets), or null when it is not a bare host.
 */
export function normalizeHost(
	raw: string | null | undefined,
	scheme: 'http' | 'https' = 'http'
): string | null {
	if (!raw || /[\s/\\?#@]/.test(raw)) return null;
	try {
		const url = new URL(`${scheme}://${raw}`);
		return url.host || null;
	} catch {
		return null;
	}
}

/** `host` in brackets when it is an IPv6 address. */
function bracketed(host: string): string {
	return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The machine's interface addresses (link-local IPv6 left out: a Host header cannot carry its zone). */
export function interfaceAddresses(): string[] {
	const out: string[] = [];
	for (const list of Object.values(os.networkInterfaces())) {
		for (const info of list ?? []) {
			if (info.family === 'IPv6' && info.address.toLowerCase().startsWith('fe80')) continue;
			out.push(bracketed(info.address));
		}
	}
	return out;
}

export class HostPolicy {
	readonly #options: HostPolicyOptions;
	#hosts = new Set<string>();
	#origins = new Set<string>();
	#port: number | null = null;

	constructor(options: HostPolicyOptions) {
		this.#options = options;
		this.#compute();
	}

	/** Call once the server listens: the default hosts carry its port. */
	listening(port: number): void {
		this.#port = port;
		this.#compute();
	}

	/** Whether the public URL is https: cookies then carry `Secure`. */
	get secure(): boolean {
		return (this.#options.publicUrls ?? []).some((u) => u.startsWith('https:'));
	}

	/** every accepted `Host` value, for messages and the startup log */
	get hosts(): string[] {
		return [...this.#hosts];
	}

	get origins(): string[] {
		return [...this.#origins];
	}

	/**
	 * The scheme browsers use for a request to this `Host`: https for the host of an https public
	 * URL (a TLS proxy in front), http otherwise (this server itself speaks plain HTTP).
	 */
	schemeOf(host: string | null | undefined): 'http' | 'https' {
		const normal = normalizeHost(host, 'https');
		for (const raw of this.#options.publicUrls ?? []) {
			const url = new URL(raw);
			if (url.protocol === 'https:' && url.host === normal) return 'https';
		}
		return 'http';
	}

	allowsHost(host: string | null | undefined): boolean {
		// the header exactly as allowed (the usual case) needs no parse: an allowed host is in
		// normal form already, and normalising it again gives itself
		if (host && this.#hosts.has(host)) return true;
		const normal = normalizeHost(host);
		return normal !== null && this.#hosts.has(normal);
	}

	/** No Origin (curl, the CLI) passes; `null` (sandboxed frames, some redirects) does not. */
	allowsOrigin(origin: string | null | undefined): boolean {
		if (origin === undefined || origin === null || origin === '') return true;
		return this.#origins.has(origin.toLowerCase());
	}

	#compute(): void {
		const hosts = new Set<string>();
		const origins = new Set<string>();
		const addHost = (raw: string, schemes: ('http' | 'https')[] = ['http']) => {
			const host = normalizeHost(raw);
			if (!host) return;
			hosts.add(host);
			for (const scheme of schemes) origins.add(new URL(`${scheme}://${host}`).origin);
		};
		const port = this.#port;
		if (port !== null) {
			const bind = this.#options.bindHost;
			const defaults = isWildcardHost(bind)
				? [...LOOPBACK_NAMES, ...(this.#options.interfaces ?? interfaceAddresses)()]
				: [...LOOPBACK_NAMES, bracketed(bind)];
			for (const name of defaults) addHost(`${name}:${port}`);
		}
		for (const raw of this.#options.publicUrls ?? []) {
			const url = new URL(raw);
			hosts.add(url.host);
			// a client may spell out the default port
			if (!url.port) hosts.add(`${url.hostname}:${url.protocol === 'https:' ? 443 : 80}`);
			origins.add(url.origin);
		}
		for (const raw of this.#options.allowedHosts ?? []) addHost(raw, ['http', 'https']);
		for (const origin of this.#options.allowedOrigins ?? []) origins.add(origin.toLowerCase());
		this.#hosts = hosts;
		this.#origins = origins;
	}
}

/** the non-empty items of a comma-separated setting */
function listOf(raw: string | undefined): string[] {
	return (raw ?? '')
		.split(',')
		.map((part) => part.trim())
		.filter(Boolean);
}

/** Parses `ACO_PUBLIC_URL`: comma-separated http(s) origins such as https://aco.example.com. */
export function parsePublicUrls(raw: string | undefined): string[] {
	return listOf(raw).map((value) => {
		let url: URL;
		try {
			url = new URL(value);
		} catch {
			throw new Error(`ACO_PUBLIC_URL: "${value}" is not a URL such as https://aco.example.com`);
		}
		if (url.protocol !== 'http:' && url.protocol !== 'https:') {
			throw new Error(`ACO_PUBLIC_URL: "${value}" must start with https:// (or http://)`);
		}
		if (url.pathname !== '/' || url.search || url.hash || url.username) {
			throw new Error(
				`ACO_PUBLIC_URL: "${value}" must be an origin (scheme://host[:port]); aco is served at the root of its host`
			);
		}
		return url.origin;
	});
}

/** Parses `ACO_ALLOWED_HOSTS`: comma-separated `host[:port]` values accepted in the Host header. */
export function parseAllowedHosts(raw: string | undefined): string[] {
	return listOf(raw).map((value) => {
		const host = normalizeHost(value);
		if (!host) throw new Error(`ACO_ALLOWED_HOSTS: "${value}" is not a host such as aco.internal:3000`);
		return host;
	});
}
