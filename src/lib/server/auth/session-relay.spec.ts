import { describe, expect, it } from 'vitest';
import { quietLogger, testPrefix, useTestRedis } from '../bus/redis/test-support';
import { connectSessionRelay } from './session-relay';

const redis = useTestRedis();

/** A node's relay on `prefix`, once Redis lists it as the channel's `subscribers`th subscriber. */
async function node(prefix: string, nodeId: string, subscribers: number) {
	const relay = redis.track(
		await connectSessionRelay({ url: redis.server.url, prefix, nodeId, logger: quietLogger })
	);
	const heard: [string, string][] = [];
	relay.onEnded((session, reason) => heard.push([session, reason]));
	// subscribed once Redis lists the node's subscription
	await expect
		.poll(
			async () =>
				((await redis.raw.call('PUBSUB', 'NUMSUB', `${prefix}sessions:ended`)) as [string, number])[1]
		)
		.toBe(subscribers);
	return { relay, heard };
}

const SESSION = 'a'.repeat(64);
const MARKER = 'f'.repeat(64);

describe('session relay', () => {
	it('tells the other nodes of a session ended on one, not the node itself, and ignores what is not an announcement', async () => {
		const prefix = testPrefix();
		const a = await node(prefix, 'node-a', 1);
		const b = await node(prefix, 'node-b', 2);
		// anything may be published on the channel: malformed messages are ignored, later ones heard
		await redis.raw.publish(`${prefix}sessions:ended`, 'not json');
		await redis.raw.publish(
			`${prefix}sessions:ended`,
			JSON.stringify({ from: 'x', session: '../etc', reason: 'r' })
		);
		a.relay.announce(SESSION, 'signed out');
		await expect.poll(() => b.heard).toEqual([[SESSION, 'signed out']]);
		// B's announcement comes to A after A's own (Redis keeps one connection's messages in order)
		b.relay.announce(MARKER, 'signed out');
		await expect.poll(() => a.heard).toEqual([[MARKER, 'signed out']]);
	});

	it('tells each other two nodes given the same node id', async () => {
		const prefix = testPrefix();
		const a = await node(prefix, 'node-a', 1);
		const twin = await node(prefix, 'node-a', 2);
		a.relay.announce(SESSION, 'signed out');
		await expect.poll(() => twin.heard).toEqual([[SESSION, 'signed out']]);
	});

	it('keeps clusters with other prefixes apart', async () => {
		const prefix = testPrefix();
		const other = testPrefix();
		const a = await node(prefix, 'node-a', 1);
		const c = await node(prefix, 'node-c', 2);
		const elsewhere = await node(other, 'node-b', 1);
		a.relay.announce(SESSION, 'signed out');
		await expect.poll(() => c.heard).toEqual([[SESSION, 'signed out']]);
		// published on the other cluster's channel after A's: once heard, A's would have been too
		await redis.raw.publish(
			`${other}sessions:ended`,
			JSON.stringify({ from: 'x', session: MARKER, reason: 'r' })
		);
		await expect.poll(() => elsewhere.heard).toEqual([[MARKER, 'r']]);
	});

	it('subscribes again after its connection to Redis was cut', async () => {
		const prefix = testPrefix();
		const a = await node(prefix, 'node-a', 1);
		const b = await node(prefix, 'node-b', 2);
		await redis.raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
		await expect
			.poll(
				async () =>
					((await redis.raw.call('PUBSUB', 'NUMSUB', `${prefix}sessions:ended`)) as [string, number])[1],
				{
					timeout: 20_000
				}
			)
			.toBe(2);
		a.relay.announce(SESSION, 'signed out');
		await expect.poll(() => b.heard).toEqual([[SESSION, 'signed out']]);
	});
});
