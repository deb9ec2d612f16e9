/**
 * The connection serving every tab: subscriptions of one shape share one hub subscription whose
 * filter lists the union of their ids, grown and shrunk by subscribing again under the same hub
 * id; each is confirmed once the hub holds a filter with its ids, and one the hub refuses is
 * reported refused to its tab.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_CLIENT_FILTER_IDS, MAX_FILTER_IDS } from '$lib/protocol';
import { ConnectionHost } from './connection-host';
import type { SubscriptionRefusal } from './connection-types';
import { FakeHubSubscriptions, socketFactory, type FakeSocket } from './test-socket';

function setup() {
	const factory = socketFactory();
	const confirmed: string[] = [];
	const refused: [string, SubscriptionRefusal][] = [];
	const host = new ConnectionHost(
		{ url: 'ws://aco.test/ws', createSocket: factory.create, backoff: { random: () => 0.5 } },
		{
			events: () => {},
			control: () => {},
			resync: () => {},
			snapshot: () => {},
			confirmed: (tab, sub) => confirmed.push(`${tab}/${sub}`),
			refused: (tab, sub, refusal) => refused.push([`${tab}/${sub}`, refusal])
		}
	);
	host.connect();
	/** opens the newest socket, says welcome (protocol 1: every subscription comes as a message) */
	function accept(): { socket: FakeSocket; hub: FakeHubSubscriptions } {
		const socket = factory.last;
		socket.open();
		socket.welcome();
		return { socket, hub: new FakeHubSubscriptions(socket) };
	}
	return { host, factory, confirmed, refused, accept };
}

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** the hub subscriptions a socket's messages leave in place, by hub id */
function subscriptionsOf(socket: FakeSocket): Map<string, { task_ids?: string[] }> {
	const held = new Map<string, { task_ids?: string[] }>();
	for (const message of socket.sent) {
		if (message.type === 'subscribe') held.set(message.sub, message.filter);
		if (message.type === 'unsubscribe' && message.sub) held.delete(message.sub);
	}
	return held;
}

describe('ConnectionHost', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('serves 40 task subscriptions of four tabs with one hub subscription listing the 40 ids, each confirmed once the hub holds it', () => {
		const { host, confirmed, accept } = setup();
		const { socket, hub } = accept();
		for (let i = 0; i < 40; i++)
			host.addSub(`tab${i % 4}`, `task:t${i}`, { filter: { task_ids: [`t${i}`] } });
		const subscribes = socket.sentOfType('subscribe');
		expect(new Set(subscribes.map((m) => m.sub))).toEqual(new Set(['task:t0']));
		expect(subscribes.at(-1)!.filter).toEqual({ task_ids: ids('t', 40) });
		expect(socket.sentOfType('unsubscribe')).toEqual([]);
		expect(confirmed).toEqual([]);

		// the first answers hold only the first ids, and a later union is on its way: the hub may
		// not hold what they said by the time the tab hears of it (a shrink can come between)
		hub.answer(2);
		expect(confirmed).toEqual([]);
		hub.answer();
		expect(confirmed).toHaveLength(40);
		expect(new Set(confirmed).size).toBe(40);
		expect(hub.held.size).toBe(1);
		host.destroy();
	});

	it('grows the union by subscribing again under the same hub id: those served stay confirmed, a newcomer waits for the answer', () => {
		const { host, confirmed, accept } = setup();
		const { socket, hub } = accept();
		host.addSub('a', 'task:t1', { filter: { task_ids: ['t1'] } });
		hub.answer();
		expect(confirmed).toEqual(['a/task:t1']);
		host.addSub('b', 'task:t2', { filter: { task_ids: ['t2'] } });
		expect(socket.sent.map((m) => m.type)).toEqual(['subscribe', 'subscribe']);
		expect(socket.sentOfType('subscribe').at(-1)).toEqual({
			type: 'subscribe',
			sub: 'task:t1',
			filter: { task_ids: ['t1', 't2'] },
			id: 'sub:task:t1'
		});
		expect(confirmed).toEqual(['a/task:t1']);
		hub.answer();
		expect(confirmed).toEqual(['a/task:t1', 'b/task:t2']);
		// a tab asking for an id the hub already has is confirmed at once, with nothing sent
		host.addSub('c', 'task:t2', { filter: { task_ids: ['t2'] } });
		expect(confirmed.at(-1)).toBe('c/task:t2');
		expect(socket.sentOfType('subscribe')).toHaveLength(2);
		host.destroy();
	});

	it('merges only filters alike but for their ids and asked at the same rate; one without ids is never merged into one with', () => {
		const { host, accept } = setup();
		const { socket } = accept();
		host.addSub('a', 'task:t1', { filter: { task_ids: ['t1'] } });
		host.addSub('b', 'task:t2', { filter: { task_ids: ['t2'] } });
		host.addSub('a', 'run:r1', { filter: { run_ids: ['r1'], types: ['task.*', 'workflow.*'] } });
		host.addSub('b', 'run:r2', { filter: { types: ['workflow.*', 'task.*'], run_ids: ['r2'] } });
		host.addSub('c', 'run:r3', { filter: { run_ids: ['r3'], types: ['task.*', 'workflow.*'] }, maxRate: 4 });
		host.addSub('c', 'dash', { filter: { types: ['task.*', 'workflow.*'] } });
		expect(Object.fromEntries(subscriptionsOf(socket))).toEqual({
			'task:t1': { task_ids: ['t1', 't2'] },
			'run:r1': { types: ['task.*', 'workflow.*'], run_ids: ['r1', 'r2'] },
			'run:r3': { run_ids: ['r3'], types: ['task.*', 'workflow.*'] },
			dash: { types: ['task.*', 'workflow.*'] }
		});
		expect(socket.sentOfType('subscribe').find((m) => m.sub === 'run:r3')?.max_rate).toBe(4);
		host.destroy();
	});

	it('shrinks the union as tabs go, by subscribing again under the same hub id, and unsubscribes with the last', () => {
		const { host, confirmed, accept } = setup();
		const { socket, hub } = accept();
		for (const tab of ['a', 'b', 'c']) {
			host.addSub(tab, `task:${tab}`, { filter: { task_ids: [tab] } });
			// two tabs on one task: the id stays while either has it
			host.addSub(tab, 'task:shared', { filter: { task_ids: ['shared'] } });
		}
		hub.answer();
		expect(confirmed).toHaveLength(6);
		expect(subscriptionsOf(socket).get('task:a')).toEqual({ task_ids: ['a', 'shared', 'b', 'c'] });

		host.removeTab('a');
		expect(subscriptionsOf(socket).get('task:a')).toEqual({ task_ids: ['shared', 'b', 'c'] });
		host.removeSub('b', 'task:shared');
		expect(subscriptionsOf(socket).get('task:a')).toEqual({ task_ids: ['shared', 'b', 'c'] });
		host.removeTab('b');
		expect(subscriptionsOf(socket).get('task:a')).toEqual({ task_ids: ['shared', 'c'] });
		expect(socket.sentOfType('unsubscribe')).toEqual([]);
		host.removeTab('c');
		expect(socket.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', sub: 'task:a' }]);
		hub.answer();
		expect(hub.held.size).toBe(0);
		host.destroy();
	});

	it(`starts another hub subscription of the same shape when the union would list more than ${MAX_FILTER_IDS} ids`, () => {
		const { host, confirmed, accept } = setup();
		const { socket, hub } = accept();
		host.addSub('a', 'many', { filter: { task_ids: ids('a', 600) } });
		host.addSub('b', 'many', { filter: { task_ids: ids('b', 600) } });
		host.addSub('c', 'few', { filter: { task_ids: ids('c', 300) } });
		// all of its ids are in the first already: it joins that one whatever its size
		host.addSub('d', 'again', { filter: { task_ids: ids('a', 600) } });
		const held = subscriptionsOf(socket);
		expect([...held.keys()]).toEqual(['many', 'many~2']);
		expect(held.get('many')!.task_ids).toEqual([...ids('a', 600), ...ids('c', 300)]);
		expect(held.get('many~2')!.task_ids).toEqual(ids('b', 600));
		for (const filter of held.values()) expect(filter.task_ids!.length).toBeLessThanOrEqual(MAX_FILTER_IDS);
		hub.answer();
		expect(confirmed.sort()).toEqual(['a/many', 'b/many', 'c/few', 'd/again']);
		host.destroy();
	});

	it(`refuses at once, sending nothing, what would take the connection past ${MAX_CLIENT_FILTER_IDS} ids, and subscribes it once room is freed`, () => {
		const { host, confirmed, refused, accept } = setup();
		const { socket, hub } = accept();
		host.addSub('a', 'many', { filter: { task_ids: ids('a', 900) } });
		host.addSub('b', 'many', { filter: { task_ids: ids('b', 900) } });
		hub.answer();
		const sent = socket.sent.length;
		host.addSub('c', 'many', { filter: { task_ids: ids('c', 300) } });
		expect(socket.sent).toHaveLength(sent);
		expect(refused).toEqual([['c/many', expect.objectContaining({ code: 'too_many_filter_ids' })]]);

		host.removeTab('a');
		expect(subscriptionsOf(socket).get('many~2')!.task_ids).toEqual(ids('b', 900));
		expect([...subscriptionsOf(socket).values()].flatMap((f) => f.task_ids)).toHaveLength(1200);
		hub.answer();
		expect(confirmed.sort()).toEqual(['a/many', 'b/many', 'c/many']);
		host.destroy();
	});

	it('re-sends the merged filters on a new socket, and confirms them again from its answers', () => {
		const { host, confirmed, accept } = setup();
		for (let i = 0; i < 5; i++) host.addSub(`tab${i}`, `task:t${i}`, { filter: { task_ids: [`t${i}`] } });
		const first = accept();
		expect(first.socket.sentOfType('subscribe').map((m) => [m.sub, m.filter])).toEqual([
			['task:t0', { task_ids: ids('t', 5) }]
		]);
		first.hub.answer();
		expect(confirmed).toHaveLength(5);
		host.addSub('tab5', 'task:t5', { filter: { task_ids: ['t5'] } });
		host.removeTab('tab0');

		first.socket.serverClose(1006);
		vi.runOnlyPendingTimers();
		const second = accept();
		const subscribes = second.socket.sentOfType('subscribe');
		expect(subscribes.map((m) => [m.sub, m.filter])).toEqual([
			['task:t0', { task_ids: ['t1', 't2', 't3', 't4', 't5'] }]
		]);
		// after the resume it asks for, as a reconnect does
		expect(second.socket.sent.map((m) => m.type)).toEqual(['subscribe', 'resume']);
		confirmed.length = 0;
		second.hub.answer();
		expect(confirmed.sort()).toEqual([
			'tab1/task:t1',
			'tab2/task:t2',
			'tab3/task:t3',
			'tab4/task:t4',
			'tab5/task:t5'
		]);
		host.destroy();
	});

	it('confirms every user on the next socket: those it subscribed ahead of its resume and those that joined the union after', () => {
		const { host, confirmed, accept } = setup();
		host.addSub('a', 'task:t1', { filter: { task_ids: ['t1'] } });
		const first = accept();
		first.hub.answer();
		expect(confirmed).toEqual(['a/task:t1']);
		// unanswered when the socket goes
		host.addSub('b', 'task:t2', { filter: { task_ids: ['t2'] } });
		first.socket.serverClose(1006);
		vi.runOnlyPendingTimers();
		const second = accept();
		// joining once the resume went
		host.addSub('c', 'task:t3', { filter: { task_ids: ['t3'] } });
		host.addSub('c', 'dash', { filter: { types: ['task.*'] } });
		expect(second.socket.sent.map((m) => (m.type === 'subscribe' ? m.filter : m.type))).toEqual([
			{ task_ids: ['t1', 't2'] },
			'resume',
			{ task_ids: ['t1', 't2', 't3'] },
			{ types: ['task.*'] }
		]);
		confirmed.length = 0;
		second.hub.answer();
		expect(confirmed.sort()).toEqual(['a/task:t1', 'b/task:t2', 'c/dash', 'c/task:t3']);
		host.destroy();
	});

	it('carries the merged filter in the URL of a first socket, with the id the hub names in its answer', () => {
		const { host, factory } = setup();
		host.addSub('a', 'task:t1', { filter: { task_ids: ['t1'] } });
		host.addSub('b', 'task:t2', { filter: { task_ids: ['t2'] } });
		// the socket was opened on connect(); the next one carries what is held now
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		const url = new URL(factory.last.url);
		expect(url.searchParams.getAll('subscribe').map((v) => JSON.parse(v) as unknown)).toEqual([
			{ sub: 'task:t1', filter: { task_ids: ['t1', 't2'] }, id: 'sub:task:t1' }
		]);
		host.destroy();
	});

	it('reports a subscription the hub refuses to the tabs using it, and subscribes it again once another is gone', () => {
		const { host, confirmed, refused, accept } = setup();
		const { socket, hub } = accept();
		// 32 shapes the hub holds (one rate each), then one more
		for (let i = 0; i < 32; i++)
			host.addSub('a', `rate${i}`, { filter: { types: ['task.*'] }, maxRate: i + 1 });
		host.addSub('b', 'task:t1', { filter: { task_ids: ['t1'] } });
		hub.answer();
		expect(confirmed).toHaveLength(32);
		expect(refused).toEqual([
			['b/task:t1', { code: 'too_many_subscriptions', message: expect.stringContaining('32 subscriptions') }]
		]);
		// another tab on the same task learns it at once
		host.addSub('c', 'task:t1', { filter: { task_ids: ['t1'] } });
		expect(refused.map(([user]) => user)).toEqual(['b/task:t1', 'c/task:t1']);

		host.removeSub('a', 'rate0');
		expect(socket.sent.slice(-2)).toEqual([
			{ type: 'unsubscribe', sub: 'rate0' },
			{ type: 'subscribe', sub: 'task:t1', filter: { task_ids: ['t1'] }, id: 'sub:task:t1' }
		]);
		hub.answer();
		expect(confirmed.slice(-2)).toEqual(['b/task:t1', 'c/task:t1']);
		host.destroy();
	});

	it('refuses only the newcomers when the hub refuses a grown filter: it keeps the one it held', () => {
		const { host, confirmed, refused, accept } = setup();
		const { socket, hub } = accept();
		host.addSub('a', 'task:t1', { filter: { task_ids: ['t1'] } });
		hub.answer();
		host.addSub('b', 'task:t2', { filter: { task_ids: ['t2'] } });
		socket.receive({
			type: 'error',
			timestamp: '',
			data: { code: 'too_many_filter_ids', message: 'too many', retryable: false, ref: 'sub:task:t1' }
		});
		expect(confirmed).toEqual(['a/task:t1']);
		expect(refused).toEqual([['b/task:t2', { code: 'too_many_filter_ids', message: 'too many' }]]);
		host.destroy();
	});

	it('does not unsubscribe what the hub refused and so never held', () => {
		const { host, accept } = setup();
		const { socket, hub } = accept();
		for (let i = 0; i < 32; i++)
			host.addSub('a', `rate${i}`, { filter: { types: ['task.*'] }, maxRate: i + 1 });
		host.addSub('b', 'task:t1', { filter: { task_ids: ['t1'] } });
		hub.answer();
		host.removeTab('b');
		expect(socket.sentOfType('unsubscribe')).toEqual([]);
		host.destroy();
	});

	it('confirms a newcomer only once the hub holds the union last sent, not from the answer to a shrink before it', () => {
		const { host, confirmed, accept } = setup();
		const { socket, hub } = accept();
		host.addSub('a', 'task:t1', { filter: { task_ids: ['t1'] } });
		host.addSub('b', 'task:t2', { filter: { task_ids: ['t2'] } });
		hub.answer();
		expect(confirmed).toEqual(['a/task:t1', 'b/task:t2']);
		// b goes ([t1] is sent), c comes for t2 ([t1, t2] is sent): the hub will hold [t1] in between
		host.removeTab('b');
		host.addSub('c', 'task:t2', { filter: { task_ids: ['t2'] } });
		expect(
			socket
				.sentOfType('subscribe')
				.slice(-2)
				.map((m) => m.filter)
		).toEqual([{ task_ids: ['t1'] }, { task_ids: ['t1', 't2'] }]);
		expect(confirmed).toEqual(['a/task:t1', 'b/task:t2']);
		hub.answer(1);
		expect(confirmed).toEqual(['a/task:t1', 'b/task:t2']);
		hub.answer();
		expect(confirmed).toEqual(['a/task:t1', 'b/task:t2', 'c/task:t2']);
		host.destroy();
	});

	it('never gives a hub id unsubscribed on this socket to another subscription, so a late answer to it misleads nobody', () => {
		const { host, confirmed, accept } = setup();
		const { socket, hub } = accept();
		host.addSub('a', 'run', { filter: { run_ids: ['r1'] } });
		hub.answer();
		host.removeTab('a');
		// the same page name, another shape: a hub id of its own
		host.addSub('b', 'run', { filter: { run_ids: ['r1'], types: ['task.*'] } });
		const last = socket.sentOfType('subscribe').at(-1)!;
		expect(last.sub).not.toBe('run');
		// an answer to the first id's subscribe, late: nothing is confirmed by it
		socket.receive({ type: 'subscribed', timestamp: '', data: { id: 'run', filter: { run_ids: ['r1'] } } });
		expect(confirmed).toEqual(['a/run']);
		hub.answer();
		expect(confirmed).toEqual(['a/run', 'b/run']);
		host.destroy();
	});

	it('keeps a subscription the hub would refuse (an id too long) out of the shared one, so its refusal stays its own', () => {
		const { host, confirmed, refused, accept } = setup();
		const { socket } = accept();
		const mangled = 'x'.repeat(200);
		host.addSub('a', 'task:t1', { filter: { task_ids: ['t1'] } });
		host.addSub('b', 'task:mangled', { filter: { task_ids: [mangled] } });
		host.addSub('c', 'task:t2', { filter: { task_ids: ['t2'] } });
		expect(subscriptionsOf(socket)).toEqual(
			new Map([
				['task:t1', { task_ids: ['t1', 't2'] }],
				['task:mangled', { task_ids: [mangled] }]
			])
		);
		// the hub takes the shared one's two subscribes and refuses b's
		const subscribed = (filter: { task_ids: string[] }) =>
			socket.receive({
				type: 'subscribed',
				timestamp: '',
				data: { id: 'task:t1', filter, ref: 'sub:task:t1' }
			});
		subscribed({ task_ids: ['t1'] });
		socket.receive({
			type: 'error',
			timestamp: '',
			data: { code: 'invalid_message', message: 'id too long', retryable: false, ref: 'sub:task:mangled' }
		});
		subscribed({ task_ids: ['t1', 't2'] });
		expect(confirmed).toEqual(['a/task:t1', 'c/task:t2']);
		expect(refused).toEqual([['b/task:mangled', { code: 'invalid_message', message: 'id too long' }]]);
		host.destroy();
	});

	it('starts another shared subscription before the ids of one would make its message too long for the hub', () => {
		const { host, accept } = setup();
		const { socket } = accept();
		// 120-character ids: 1,000 of them would be a 123 KB message, past the hub's 64 KiB
		const long = (i: number) => `${String(i).padStart(4, '0')}${'t'.repeat(116)}`;
		for (let i = 0; i < 1_000; i++) host.addSub('a', `task:${i}`, { filter: { task_ids: [long(i)] } });
		const held = [...subscriptionsOf(socket).values()];
		expect(held.length).toBeGreaterThan(3);
		for (const filter of held) expect(JSON.stringify(filter).length).toBeLessThan(33 * 1024);
		expect(held.flatMap((filter) => filter.task_ids ?? [])).toHaveLength(1_000);
		host.destroy();
	});

	it('shares a subscription whose page name is too long for a hub id, under a hub id that fits', () => {
		const { host, confirmed, accept } = setup();
		const { socket, hub } = accept();
		const long = `workflow:${'w'.repeat(80)}`;
		host.addSub('a', 'workflows', { filter: { types: ['workflow.*'] }, maxRate: 2 });
		host.addSub('b', long, { filter: { types: ['workflow.*'] }, maxRate: 2 });
		host.addSub('c', long, { filter: { types: ['workflow.*'] }, maxRate: 4 });
		const subs = socket.sentOfType('subscribe').map((m) => m.sub);
		expect(subs).toEqual(['workflows', long.slice(0, 64)]);
		hub.answer();
		expect(confirmed).toEqual(['a/workflows', `b/${long}`, `c/${long}`]);
		host.destroy();
	});
});
