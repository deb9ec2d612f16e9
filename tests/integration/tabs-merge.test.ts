/**
 * Many task pages in the tabs of one browser, against the real hub on a loopback server: the
 * browser's own connection modules (tab-share, tab-connection, connection-host) over real `ws`
 * sockets, the tabs' Web Locks and BroadcastChannel played by test-tabs. The hub holds at most 32
 * subscriptions per connection; 40 task pages still all go live on the one shared connection,
 * and a subscription the hub does refuse makes its tab say so instead of looking live.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWsSocket } from '../../src/cli/realtime/socket';
import type { AnyEventEnvelope } from '../../src/lib/protocol/messages';
import { TabConnection } from '../../src/lib/realtime/tab-connection';
import { TabShare } from '../../src/lib/realtime/tab-share';
import { FakeBrowser } from '../../src/lib/realtime/test-tabs';
import { waitFor } from '../helpers/aco-api';
import { progress, startHubServer, type HubServer } from '../helpers/hub-server';

/** long enough for a loaded two-core machine; every wait ends as soon as its condition holds */
const WAIT_MS = 20_000;

function browser(hub: HubServer) {
	const fake = new FakeBrowser();
	const tabs: TabConnection[] = [];
	return {
		tabs,
		/** a tab with its pages' subscriptions, as task pages make them */
		open(id: string, taskIds: string[]) {
			const connection = new TabConnection({
				link: new TabShare({
					hub: { url: hub.url, createSocket: (url) => createWsSocket(url, '') },
					locks: fake.locks(id),
					openChannel: fake.channel(id),
					tabId: id
				})
			});
			const events: AnyEventEnvelope[] = [];
			const reloads: string[] = [];
			connection.onEvent((event) => events.push(event));
			connection.onReconnected((reason) => void reloads.push(reason));
			for (const task of taskIds) connection.subscribe(`task:${task}`, { task_ids: [task] });
			connection.connect();
			tabs.push(connection);
			return { connection, events, reloads };
		},
		close() {
			for (const tab of tabs) tab.destroy();
		}
	};
}

const taskIdOf = (event: AnyEventEnvelope) => (event.data as { task_id?: string }).task_id;

describe('task pages in many tabs of one browser', () => {
	let hub: HubServer;
	let tabs: ReturnType<typeof browser>;

	beforeEach(async () => {
		hub = await startHubServer();
		tabs = browser(hub);
	});
	afterEach(async () => {
		tabs.close();
		await hub.stop();
	});

	it('40 task pages in four tabs all go live on one connection holding one subscription, each getting its own tasks only', async () => {
		const pages = Array.from({ length: 4 }, (_, n) =>
			tabs.open(
				`tab${n}`,
				Array.from({ length: 10 }, (_, i) => `task-${n * 10 + i}`)
			)
		);
		// every page's subscription confirmed: the first-load reload that follows it ran
		await waitFor(
			() => pages.every((page) => page.reloads.includes('subscribed')),
			WAIT_MS,
			'every tab confirmed'
		);
		for (const page of pages)
			expect(page.connection.snapshot()).toMatchObject({ status: 'live', unavailable: null });
		const stats = hub.hub.stats();
		expect([stats.connections.active, stats.subscriptions]).toEqual([1, 1]);

		for (let i = 0; i < 40; i++) hub.bus.publish(progress(`task-${i}`, null, i));
		await waitFor(() => pages.every((page) => page.events.length >= 10), WAIT_MS, 'every tab got its events');
		pages.forEach((page, n) => {
			expect(page.events.map(taskIdOf)).toEqual(Array.from({ length: 10 }, (_, i) => `task-${n * 10 + i}`));
		});
	});

	it("a subscription the hub refuses shows its tab 'unavailable' with the hub's reason, and goes live once there is room", async () => {
		const leader = tabs.open('leader', []);
		// 32 subscriptions that cannot share one (each asks for a rate of its own): the hub's most
		for (let i = 0; i < 32; i++) {
			leader.connection.subscribe(`rate-${i}`, { types: ['workflow.*'] }, { maxRate: i + 1 });
		}
		await waitFor(() => leader.reloads.includes('subscribed'), WAIT_MS, 'the 32 subscriptions confirmed');
		const page = tabs.open('task-tab', ['task-1']);
		await waitFor(
			() => page.connection.snapshot().status === 'unavailable',
			WAIT_MS,
			'the refused tab shown unavailable'
		);
		expect(page.connection.snapshot().unavailable).toEqual({
			code: 'too_many_subscriptions',
			message: expect.stringContaining('already holds 32 subscriptions')
		});
		expect(leader.connection.snapshot().status).toBe('live');

		leader.connection.unsubscribe('rate-0');
		await waitFor(() => page.connection.snapshot().status === 'live', WAIT_MS, 'the tab live again');
		hub.bus.publish(progress('task-1', null, 50));
		await waitFor(() => page.events.length > 0, WAIT_MS, 'the event of task-1');
		expect(page.events.map(taskIdOf)).toEqual(['task-1']);
	});
});
