/**
 * Ports for test servers.
 */
import fs from 'node:fs';
import net from 'node:net';

/**
 * The ports the kernel hands out for port 0 (`net.ipv4.ip_local_port_range`). A server that a
 * test stops and starts again (Redis, PostgreSQL, aco) must keep its port meanwhile, so it is
 * picked outside this range: no server started on port 0 elsewhere (another test file) can take
 * it while it is down.
 */
function ephemeralRange(): [number, number] {
	try {
		const [low, high] = fs
			.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
			.trim()
			.split(/\s+/)
			.map(Number);
		if (low! > 0 && high! >= low!) return [low!, high!];
	} catch {
		// not Linux: assume the IANA range
	}
	return [49152, 65535];
}

function canListen(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const server = net.createServer();
		server.unref();
		server.once('error', () => resolve(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
	});
}

/**
 * A free port outside the kernel's ephemeral range. Another test may pick the same one first, if
 * rarely (10,000 to pick from); Redis's start tries another port then.
 */
export async function freePort(): Promise<number> {
	const [low, high] = ephemeralRange();
	const [from, to] = low - 10_000 >= 10_000 ? [low - 10_000, low] : [high + 1, 65_536];
	for (;;) {
		const port = from + Math.floor(Math.random() * (to - from));
		if (await canListen(port)) return port;
	}
}
