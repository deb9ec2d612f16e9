/**
 * @module tests/helpers/pausable-proxy
 * A TCP proxy that can stop forwarding without closing anything: a database that stops
 * answering (a network partition, a firewall dropping packets, a paused VM) rather than one that
 * refuses connections. While paused, every connection stays open, new ones are accepted, and
 * nothing passes either way; what arrives is held and forwarded on `resume()`. A side that closes
 * while paused is not heard of until then, and then its connection closes with nothing delivered:
 * the bytes were lost in the network, so a statement a client gave up on never reaches the server.
 *
 * @example
 * const proxy = await startPausableProxy(5432);
 * const url = proxy.url('postgres://aco@127.0.0.1:5432/db'); // the same URL on the proxy's port
 * proxy.pause(); // queries through it get no answer
 * proxy.resume();
 * await proxy.close();
 */
import net from 'node:net';

export interface PausableProxy {
	/** the port the proxy listens on (127.0.0.1) */
	readonly port: number;
	/** connections open now (accepted and not closed) */
	readonly connections: number;
	/** connections accepted since the start */
	readonly accepted: number;
	/** `url` with its port replaced by the proxy's */
	url(url: string): string;
	/** stops forwarding, both ways, on every connection (new ones too); closes nothing */
	pause(): void;
	/** forwards what was held, then everything again; closes the connections a side closed meanwhile */
	resume(): void;
	/** closes every connection and stops listening; idempotent */
	close(): Promise<void>;
}

interface Link {
	client: net.Socket;
	server: net.Socket;
	/** bytes held while paused, per direction */
	toServer: Buffer[];
	toClient: Buffer[];
	/** a side closed while paused */
	broken: boolean;
}

export async function startPausableProxy(
	targetPort: number,
	targetHost = '127.0.0.1'
): Promise<PausableProxy> {
	const links = new Set<Link>();
	let paused = false;
	let accepted = 0;
	let closed = false;

	const drop = (link: Link) => {
		if (!links.delete(link)) return;
		link.client.destroy();
		link.server.destroy();
	};

	const listener = net.createServer((client) => {
		accepted++;
		const server = net.connect(targetPort, targetHost);
		const link: Link = { client, server, toServer: [], toClient: [], broken: false };
		links.add(link);
		const forward = (to: net.Socket, held: Buffer[]) => (chunk: Buffer) => {
			if (paused) held.push(chunk);
			else to.write(chunk);
		};
		client.on('data', forward(server, link.toServer));
		server.on('data', forward(client, link.toClient));
		const ended = () => {
			if (paused) link.broken = true;
			else drop(link);
		};
		for (const socket of [client, server]) {
			socket.on('error', ended);
			socket.on('close', ended);
		}
	});
	await new Promise<void>((resolve, reject) => {
		listener.once('error', reject);
		listener.listen(0, '127.0.0.1', () => resolve());
	});
	const port = (listener.address() as net.AddressInfo).port;

	return {
		port,
		get connections() {
			return links.size;
		},
		get accepted() {
			return accepted;
		},
		url(url) {
			const parsed = new URL(url);
			parsed.hostname = '127.0.0.1';
			parsed.port = String(port);
			return parsed.toString();
		},
		pause() {
			paused = true;
		},
		resume() {
			paused = false;
			for (const link of [...links]) {
				if (link.broken) {
					drop(link);
					continue;
				}
				for (const chunk of link.toServer.splice(0)) link.server.write(chunk);
				for (const chunk of link.toClient.splice(0)) link.client.write(chunk);
			}
		},
		async close() {
			if (closed) return;
			closed = true;
			paused = false;
			for (const link of [...links]) drop(link);
			await new Promise<void>((resolve) => listener.close(() => resolve()));
		}
	};
}
