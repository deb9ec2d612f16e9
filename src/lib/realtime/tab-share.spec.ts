/**
 * One connection for all the tabs of a browser: the tabs' subscriptions reach the hub as their
 * union, each tab gets exactly the events it asked for, and when the leading tab closes another
 * takes over, resumes from the last seq, and no tab loses or repeats an event.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnyEventEnvelope, EventFilter } from '$lib/protocol';
import { TabConnection } from './tab-connection';
import { MAX_UNHEARD_POSTS, TabShare } from './tab-share';
import { drain, FakeBrowser } from './test-tabs';
import { FakeHubSubscriptions, socketFactory, type FakeSocket } from './test-socket';

const progress = (seq: number, task = 't1') =>
	({
		type: 'task.progress',
		seq,
		timestamp: '',
		data: { task_id: task, run_id: null, progress: seq, message: null }
	}) as AnyEventEnvelope;

function browserWithTabs() {
	const browser = new FakeBrowser();
	const factory = socketFactory();
	const visibility = new EventTarget();
	let visible = true;
	function open(id: string, subs: Record<string, EventFilter> = {}) {
		const link = new TabShare({
			hub: {
				url: 'ws://aco.test/ws',
				createSocket: factory.create,
				backoff: { random: () => 0.5, baseMs: 20_000, capMs: 20_000 },
				restartDelay: { minMs: 0, maxMs: 0 },
				visibility: { target: visibility, isVisible: () => visible }
			},
			locks: browser.locks(id),
			openChannel: browser.channel(id),
			tabId: id
		});
		const connection = new TabConnection({ link });
		const seen: number[] = [];
		const reasons: string[] = [];
		connection.onEvent((event) => seen.push(event.seq));
		connection.onReconnected((reason) => void reasons.push(reason));
		for (const [sub, filter] of Object.entries(subs)) connection.subscribe(sub, filter);
		connection.connect();
		return {
			id,
			link,
			connection,
			seen,
			reasons,
			/** the browser closes the tab: no goodbye, its locks freed, its page gone */
			crash() {
				browser.close(id);
				connection.destroy();
			}
		};
	}
	return {
		browser,
		factory,
		open,
		setVisible(value: boolean) {
			visible = value;
			visibility.dispatchEvent(new Event('visibilitychange'));
		}
	};
}

function confirmAll(socket: FakeSocket): void {
	for (const { sub, filter } of socket.sentOfType('subscribe')) {
		socket.receive({ type: 'subscribed', timestamp: '', data: { id: sub, filter } });
	}
}

function confirm(socket: FakeSocket, sub: string): void {
	const sent = socket
		.sentOfType('subscribe')
		.filter((m) => m.sub === sub)
		.at(-1);
	if (!sent) throw new Error(`the socket never sent subscription ${sub}`);
	socket.receive({ type: 'subscribed', timestamp: '', data: { id: sub, filter: sent.filter } });
}

/** the task ids a socket's subscribes name, each once, sorted */
function subscribedTasks(socket: FakeSocket): string[] {
	const ids = socket.sentOfType('subscribe').flatMap((m) => m.filter.task_ids ?? []);
	return [...new Set(ids)].sort();
}

type Tabs = ReturnType<typeof browserWithTabs>;
type Tab = ReturnType<Tabs['open']>;

/** the subscription each tab of the paused-leader cases holds */
const SUBS: Record<string, Record<string, EventFilter>> = {
	a: { mine: { task_ids: ['t1'] } },
	b: { yours: { task_ids: ['t1'] } }
};

/** `leader` opens first and leads (its socket at seq 1, every subscription confirmed); `follower` follows. */
async function leaderAndFollower(tabs: Tabs, leader: string, follower: string) {
	const lead = tabs.open(leader, SUBS[leader]);
	const own = tabs.factory.last;
	own.open();
	own.welcome({ epoch: 'e1', seq: 0 });
	const follow = tabs.open(follower, SUBS[follower]);
	await drain();
	confirmAll(own);
	own.event(progress(1));
	await drain();
	return { lead, follow, own };
}

/**
 * `paused`'s page is paused (a debugger): `taking` gets no answer and takes over, its new socket
 * resumed from `seq`. What `taking` posts meanwhile, its `leader` message too, never reaches it.
 */
async function takeOverFrom(tabs: Tabs, paused: Tab, taking: Tab, seq: number): Promise<FakeSocket> {
	tabs.browser.freeze(paused.id);
	taking.connection.retryNow();
	vi.advanceTimersByTime(5_000);
	await drain();
	expect(taking.link.role).toBe('leader');
	const socket = tabs.factory.last;
	socket.open();
	socket.welcome({ epoch: 'e1', seq });
	confirmAll(socket);
	socket.resumed(0);
	await drain();
	return socket;
}

/** Tab a leads and b follows; then a is paused and b takes over (see {@link takeOverFrom}). */
async function pausedLeaderTakenOver() {
	const tabs = browserWithTabs();
	const { lead: a, follow: b, own } = await leaderAndFollower(tabs, 'a', 'b');
	const reloads = a.reasons.length;
	const taken = await takeOverFrom(tabs, a, b, 1);
	return { browser: tabs.browser, a, b, own, taken, reloads };
}

describe('TabShare', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('gives the tabs of one browser one socket; each tab gets the events of its own subscriptions', async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { dash: { types: ['task.*'] } });
		expect(a.link.role).toBe('leader');
		factory.last.open();
		factory.last.welcome({ seq: 0 });
		const b = open('b', { 'task:t2': { task_ids: ['t2'] } });
		await drain();
		expect(b.link.role).toBe('follower');
		expect(factory.sockets).toHaveLength(1);
		expect(factory.last.sentOfType('subscribe').map((m) => [m.sub, m.filter])).toEqual([
			['dash', { types: ['task.*'] }],
			['task:t2', { task_ids: ['t2'] }]
		]);
		confirmAll(factory.last);
		await drain();
		expect(b.connection.snapshot().status).toBe('live');
		expect([a.connection.snapshot().sharing, b.connection.snapshot().sharing]).toEqual([
			'leader',
			'follower'
		]);
		expect(b.reasons).toEqual(['subscribed']);

		factory.last.event(progress(1, 't1'));
		factory.last.event({
			type: 'tool.lines',
			seq: 2,
			data: {
				task_id: 't2',
				run_id: null,
				execution_id: 'x2',
				lines: [{ line: 1, output: 'hi', is_stderr: false, timestamp: '' }]
			}
		});
		factory.last.event(progress(3, 't2'));
		await drain();
		expect(a.seen).toEqual([1, 3]);
		expect(b.seen).toEqual([2, 3]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it("subscribes the hub once for tabs asking the same; one tab's unsubscribe does not cut the other's", async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { dash: { types: ['task.*'] } });
		factory.last.open();
		factory.last.welcome();
		const b = open('b', { dash: { types: ['task.*'] } });
		await drain();
		expect(factory.last.sentOfType('subscribe')).toHaveLength(1);
		confirmAll(factory.last);
		await drain();
		expect(b.reasons).toEqual(['subscribed']);

		a.connection.unsubscribe('dash');
		expect(factory.last.sentOfType('unsubscribe')).toEqual([]);
		factory.last.event(progress(1));
		await drain();
		expect(a.seen).toEqual([]);
		expect(b.seen).toEqual([1]);
		b.connection.unsubscribe('dash');
		await drain();
		expect(factory.last.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', sub: 'dash' }]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it("asks the hub for each tab's rate: the same filter at another rate is a subscription of its own", async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a');
		a.connection.subscribe('dash', { types: ['task.*'] }, { maxRate: 4 });
		factory.last.open();
		factory.last.welcome();
		const b = open('b', { dash: { types: ['task.*'] } });
		await drain();
		expect(factory.last.sentOfType('subscribe')).toEqual([
			{ type: 'subscribe', sub: 'dash', filter: { types: ['task.*'] }, max_rate: 4, id: 'sub:dash' },
			{ type: 'subscribe', sub: 'dash~2', filter: { types: ['task.*'] }, id: 'sub:dash~2' }
		]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it("a follower's subscription made once both tabs are live has its subscriber reload when the hub confirms it", async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { dash: { types: ['task.*'] } });
		factory.last.open();
		factory.last.welcome();
		const b = open('b');
		await drain();
		confirmAll(factory.last);
		await drain();
		expect(b.connection.snapshot().status).toBe('live');

		// the page subscribes, then loads over REST at once; the hub hears of it only through the leader
		const reloads: string[] = [];
		b.connection.subscribe('task:t2', { task_ids: ['t2'] }, { reload: () => void reloads.push('task:t2') });
		expect(factory.last.sentOfType('subscribe').map((m) => m.sub)).toEqual(['dash']);
		await drain();
		expect(factory.last.sentOfType('subscribe').map((m) => m.sub)).toEqual(['dash', 'task:t2']);
		expect(reloads).toEqual([]);
		confirm(factory.last, 'task:t2');
		await drain();
		expect(reloads).toEqual(['task:t2']);
		// only the store that subscribed reloads, in this tab and in the other
		expect([a.reasons, b.reasons]).toEqual([['subscribed'], []]);

		// one that names no reload of its own has every store of its tab reload
		b.connection.subscribe('task:t3', { task_ids: ['t3'] });
		await drain();
		confirm(factory.last, 'task:t2');
		await drain();
		expect([a.reasons, b.reasons]).toEqual([['subscribed'], ['subscribed']]);
		expect(reloads).toEqual(['task:t2']);
		a.connection.destroy();
		b.connection.destroy();
	});

	it("the leading tab's subscription made once live has its subscriber reload when the hub confirms it, not before, nor when the hub carried it already", async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { dash: { types: ['task.*'] } });
		factory.last.open();
		factory.last.welcome();
		confirmAll(factory.last);
		await drain();
		expect(a.connection.snapshot().status).toBe('live');
		const reloads: string[] = [];
		a.connection.subscribe('task:t2', { task_ids: ['t2'] }, { reload: () => void reloads.push('task:t2') });
		expect(factory.last.sentOfType('subscribe').map((m) => m.sub)).toEqual(['dash', 'task:t2']);
		await drain();
		expect(reloads).toEqual([]);
		confirm(factory.last, 'task:t2');
		await drain();
		expect(reloads).toEqual(['task:t2']);
		// what the hub already carries was live before the page loaded: nothing to reload
		a.connection.subscribe('again', { task_ids: ['t2'] }, { reload: () => void reloads.push('again') });
		await drain();
		expect(factory.last.sentOfType('subscribe')).toHaveLength(2);
		expect(reloads).toEqual(['task:t2']);
		expect(a.reasons).toEqual(['subscribed']);
		a.connection.destroy();
	});

	it('a subscription left unconfirmed when the leading tab closes is reloaded once the next leader confirms it, as is one made after the resume went', async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { dash: { types: ['task.*'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		const b = open('b');
		const c = open('c');
		await drain();
		confirmAll(factory.last);
		factory.last.event(progress(1));
		await drain();
		const reloads: string[] = [];
		const reloading = (sub: string) => () => void reloads.push(sub);
		// a page in each following tab: the leader sends their subscriptions; the hub has not answered
		b.connection.subscribe('task:t2', { task_ids: ['t2'] }, { reload: reloading('b task:t2') });
		c.connection.subscribe('task:t3', { task_ids: ['t3'] }, { reload: reloading('c task:t3') });
		await drain();
		expect(subscribedTasks(factory.last)).toEqual(['t2', 't3']);
		a.crash();
		expect(b.link.role).toBe('leader');
		await drain();

		const socket = factory.last;
		socket.open();
		socket.welcome({ epoch: 'e1', seq: 1 });
		// the union of the pages ahead of the resume, which starts after the newest seq seen on any
		// subscription: an event for a page the hub had not taken yet may lie before it
		expect(socket.sent.map((m) => (m.type === 'subscribe' ? m.filter : m.type))).toEqual([
			{ task_ids: ['t2', 't3'] },
			'resume'
		]);
		// a page opened after the resume went
		b.connection.subscribe('task:t4', { task_ids: ['t4'] }, { reload: reloading('b task:t4') });
		await drain();
		confirmAll(socket);
		socket.resumed(0);
		await drain();
		expect(reloads.sort()).toEqual(['b task:t2', 'b task:t4', 'c task:t3']);
		expect([b.reasons, c.reasons]).toEqual([[], []]);
		expect(c.connection.snapshot()).toMatchObject({ state: 'connected', status: 'live' });
		b.connection.destroy();
		c.connection.destroy();
	});

	it('when the leading tab closes, the next takes over, resumes from the last seq, and no tab loses or repeats an event', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { all: { types: ['task.*'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		const b = open('b', { t1: { task_ids: ['t1'] } });
		const c = open('c', { t2: { task_ids: ['t2'] } });
		await drain();
		confirmAll(factory.last);
		for (let seq = 1; seq <= 4; seq++) factory.last.event(progress(seq, seq % 2 ? 't1' : 't2'));
		await drain();
		// 5 reaches the leader, which closes before posting it to the others
		factory.last.event(progress(5, 't1'));
		a.crash();
		expect(browser.holder('aco:ws://aco.test/ws:leader')).toBe('b');
		expect(b.link.role).toBe('leader');
		expect(factory.sockets).toHaveLength(2);
		await drain();
		// the others stay connected while the new leader reconnects for them
		expect(c.connection.snapshot()).toMatchObject({ state: 'connected', status: 'resyncing' });

		const socket = factory.last;
		socket.open();
		socket.welcome({ epoch: 'e1', seq: 7 });
		// the union of the tabs still open (one subscription for both tasks), then the resume from what they have seen
		expect(socket.sent.map((m) => (m.type === 'subscribe' ? [m.sub, m.filter] : m.type))).toEqual([
			['t1', { task_ids: ['t1', 't2'] }],
			'resume'
		]);
		expect(socket.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 4 });
		confirmAll(socket);
		socket.event(progress(8, 't2'));
		socket.receive({ type: 'batch', events: [progress(5, 't1'), progress(6, 't2'), progress(7, 't1')] });
		socket.resumed(3);
		await drain();
		expect(b.seen).toEqual([1, 3, 5, 7]);
		expect(c.seen).toEqual([2, 4, 6, 8]);
		expect([b.reasons, c.reasons]).toEqual([['subscribed'], ['subscribed']]);
		expect(c.connection.snapshot()).toMatchObject({ state: 'connected', status: 'live' });
		socket.event(progress(9, 't2'));
		await drain();
		expect(c.seen).toEqual([2, 4, 6, 8, 9]);
		b.connection.destroy();
		c.connection.destroy();
	});

	it('a tab that joins learns the subscriptions of the tabs before it, and takes them over', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { first: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 2 });
		const b = open('b', { second: { task_ids: ['t2'] } });
		await drain();
		const c = open('c', { third: { task_ids: ['t3'] } });
		await drain();
		// a and b hang; c takes over with everyone's subscriptions, not only its own
		browser.deafen('a');
		browser.deafen('b');
		c.connection.retryNow();
		vi.advanceTimersByTime(5_000);
		await drain();
		expect(c.link.role).toBe('leader');
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 2 });
		expect(subscribedTasks(factory.last)).toEqual(['t1', 't2', 't3']);
		a.connection.destroy();
		b.connection.destroy();
		c.connection.destroy();
	});

	it('a tab that takes over subscribes what the leader subscribed after it joined', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { first: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		const b = open('b', { second: { task_ids: ['t2'] } });
		await drain();
		confirmAll(factory.last);
		// the leader's page opens another view once the follower is there
		a.connection.subscribe('later', { task_ids: ['t3'] });
		await drain();
		confirmAll(factory.last);
		factory.last.event(progress(1, 't3'));
		await drain();
		expect(a.seen).toEqual([1]);
		// the leader hangs; the follower takes over with every subscription, the leader's newest too
		browser.hang('a');
		vi.advanceTimersByTime(2_000 + 5_000 + 2_000);
		await drain();
		expect(b.link.role).toBe('leader');
		const socket = factory.last;
		socket.open();
		socket.welcome({ epoch: 'e1', seq: 1 });
		expect(subscribedTasks(socket)).toEqual(['t1', 't2', 't3']);
		a.connection.destroy();
		b.connection.destroy();
	});

	it('a tab that lists its subscriptions again loses at the hub those the list lacks (an unsubscribe the leader missed)', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { dash: { types: ['task.*'] } });
		const socket = factory.last;
		socket.open();
		socket.welcome();
		const b = open('b', { 'task:t1': { task_ids: ['t1'] }, 'task:t2': { task_ids: ['t2'] } });
		await drain();
		confirmAll(socket);
		expect(socket.sentOfType('subscribe').at(-1)!.filter).toEqual({ task_ids: ['t1', 't2'] });
		// b's page left t2 while the leader did not hear it; b then says which it has (as after a takeover)
		const channel = browser.channel('b')('aco:ws://aco.test/ws');
		channel.postMessage({ t: 'hello', tab: 'b', subs: [['task:t1', { filter: { task_ids: ['t1'] } }]] });
		await drain();
		expect(socket.sentOfType('subscribe').at(-1)!.filter).toEqual({ task_ids: ['t1'] });
		a.connection.destroy();
		b.connection.destroy();
	});

	it('a tab that closes without a word loses its subscriptions at the hub', async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { dash: { types: ['task.*'] } });
		factory.last.open();
		factory.last.welcome();
		const b = open('b', { 'task:t9': { task_ids: ['t9'] } });
		await drain();
		expect(factory.last.sentOfType('subscribe')).toHaveLength(2);
		b.crash();
		await drain();
		expect(factory.last.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', sub: 'task:t9' }]);
		a.connection.destroy();
	});

	it("a follower's Retry now and its page becoming visible reach the leader's waiting socket", async () => {
		const { factory, open, setVisible } = browserWithTabs();
		const a = open('a', { dash: {} });
		factory.last.open();
		factory.last.welcome();
		const b = open('b', { dash: {} });
		await drain();
		factory.last.serverClose(1006);
		await drain();
		expect(b.connection.snapshot().state).toBe('reconnecting');
		expect(b.connection.snapshot().nextRetryAt).not.toBeNull();
		b.connection.retryNow();
		await drain();
		expect(factory.sockets).toHaveLength(2);
		factory.last.serverClose(1006);
		setVisible(false);
		setVisible(true);
		await drain();
		expect(factory.sockets).toHaveLength(3);
		a.connection.destroy();
		b.connection.destroy();
	});

	it('a tab leaving on purpose hands over at once and is not subscribed by the next leader', async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { mine: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 3 });
		const b = open('b', { yours: { task_ids: ['t2'] } });
		await drain();
		a.connection.destroy();
		await drain();
		expect(factory.sockets[0]!.closedWith?.code).toBe(1000);
		expect(b.link.role).toBe('leader');
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 3 });
		expect(factory.last.sentOfType('subscribe').map((m) => m.sub)).toEqual(['yours']);
		expect(factory.last.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 3 });
		b.connection.destroy();
	});

	it('takes the connection over from a leader that does not answer, which steps down', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { mine: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 5 });
		// the leader hangs: it hears nothing more from the other tabs
		browser.deafen('a');
		const b = open('b', { yours: { task_ids: ['t2'] } });
		await drain();
		expect(b.link.role).toBe('follower');
		vi.advanceTimersByTime(5_000);
		await drain();
		expect(b.link.role).toBe('leader');
		expect(a.link.role).toBe('follower');
		// the old leader's socket is closed; it says which subscriptions it has, and the new leader
		// subscribes them with its own
		expect(factory.sockets[0]!.closedWith?.code).toBe(1000);
		await drain();
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 5 });
		expect(factory.last.sentOfType('subscribe').map((m) => [m.sub, m.filter])).toEqual([
			['yours', { task_ids: ['t2', 't1'] }]
		]);
		await drain();
		expect(b.connection.snapshot()).toMatchObject({ state: 'connected' });
		a.connection.destroy();
		b.connection.destroy();
	});

	it('a follower keeps a quiet but living leader: it asks, the leader answers, nobody takes over', async () => {
		const { factory, open, setVisible } = browserWithTabs();
		const a = open('a', { mine: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 5 });
		const b = open('b', { yours: { task_ids: ['t2'] } });
		await drain();
		// the leader's tab is hidden: its own timers may be slowed, but it answers from its handler
		setVisible(false);
		for (let i = 0; i < 30; i++) {
			vi.advanceTimersByTime(1_000);
			await drain();
		}
		expect([a.link.role, b.link.role]).toEqual(['leader', 'follower']);
		expect(factory.sockets).toHaveLength(1);
		a.connection.destroy();
		b.connection.destroy();
	});

	it('a follower that hears nothing from a hung leader takes over by itself and goes on receiving from the last seq', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { mine: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		const b = open('b', { yours: { task_ids: ['t2'] } });
		await drain();
		confirmAll(factory.last);
		factory.last.event(progress(1, 't2'));
		await drain();
		expect(b.seen).toEqual([1]);
		// the leader hangs with nothing to say; the follower asks nothing of it on its own account
		browser.hang('a');
		factory.last.event(progress(2, 't2'));
		vi.advanceTimersByTime(2_000 + 4_000);
		await drain();
		expect(b.link.role).toBe('follower');
		vi.advanceTimersByTime(2_000);
		await drain();
		expect(b.link.role).toBe('leader');
		const socket = factory.last;
		expect(factory.sockets).toHaveLength(2);
		socket.open();
		socket.welcome({ epoch: 'e1', seq: 3 });
		expect(socket.sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 1 });
		confirmAll(socket);
		socket.receive({ type: 'batch', events: [progress(2, 't2'), progress(3, 't2')] });
		socket.resumed(2);
		await drain();
		expect(b.seen).toEqual([1, 2, 3]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it('after a takeover the tabs ignore what the deposed leader still posts, so none skips an event the new leader replays', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { mine: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		const b = open('b', { yours: { task_ids: ['t2'] } });
		const c = open('c', { theirs: { types: ['task.*'] } });
		await drain();
		confirmAll(factory.last);
		factory.last.event(progress(1, 't2'));
		await drain();
		browser.hang('a');
		b.connection.retryNow();
		vi.advanceTimersByTime(5_000);
		await drain();
		expect(b.link.role).toBe('leader');
		// the hung tab wakes and passes on an event its socket had (lacking a task the others want)
		const stale = browser.channel('a')('aco:ws://aco.test/ws');
		stale.postMessage({ t: 'events', from: 'a', events: [progress(3, 't2')] });
		await drain();
		expect(c.seen).toEqual([1]);
		const socket = factory.last;
		socket.open();
		socket.welcome({ epoch: 'e1', seq: 3 });
		confirmAll(socket);
		socket.receive({ type: 'batch', events: [progress(2, 't9'), progress(3, 't2')] });
		socket.resumed(2);
		await drain();
		expect(c.seen).toEqual([1, 2, 3]);
		expect(b.seen).toEqual([1, 3]);
		a.connection.destroy();
		b.connection.destroy();
		c.connection.destroy();
	});

	it('a leader paused while another took over takes what the new leader posted before it learned, once it steps down', async () => {
		const { browser, a, b, own, taken, reloads } = await pausedLeaderTakenOver();
		// a runs again: it hears b's events while it still leads, its own socket brings 2, and only
		// then does the browser tell it its lock was taken
		browser.wake('a');
		taken.event(progress(2));
		taken.event(progress(3));
		await drain();
		own.event(progress(2));
		await drain();
		expect(a.link.role).toBe('leader');
		browser.tellSteals('a');
		await drain();
		expect(a.link.role).toBe('follower');
		taken.event(progress(4));
		await drain();
		expect(a.seen).toEqual([1, 2, 3, 4]);
		expect(b.seen).toEqual([1, 2, 3, 4]);
		expect(a.reasons.slice(reloads)).toEqual([]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it("a leader paused while the tab it took over from takes the lead back takes that tab's posts too", async () => {
		const tabs = browserWithTabs();
		const { browser } = tabs;
		const { lead: b, follow: a } = await leaderAndFollower(tabs, 'b', 'a');
		// b is paused and a takes over; b wakes, learns it and says hello: it follows
		const second = await takeOverFrom(tabs, b, a, 1);
		browser.wake('b');
		browser.tellSteals('b');
		await drain();
		expect([a.link.role, b.link.role]).toEqual(['leader', 'follower']);
		second.event(progress(2));
		await drain();
		const reloads = a.reasons.length;
		// now a is paused, and b takes the lead back
		const third = await takeOverFrom(tabs, a, b, 2);
		browser.wake('a');
		third.event(progress(3));
		third.event(progress(4));
		await drain();
		second.event(progress(3));
		await drain();
		browser.tellSteals('a');
		await drain();
		expect(a.link.role).toBe('follower');
		third.event(progress(5));
		await drain();
		expect(a.seen).toEqual([1, 2, 3, 4, 5]);
		expect(a.reasons.slice(reloads)).toEqual([]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it("a paused leader whose own socket stopped before the new leader's first post it heard reloads once it steps down", async () => {
		const { browser, a, b, taken } = await pausedLeaderTakenOver();
		// posted while a is paused: lost to it, and its own socket brings nothing more
		taken.event(progress(2));
		await drain();
		browser.wake('a');
		taken.event(progress(3));
		await drain();
		browser.tellSteals('a');
		await drain();
		expect(a.link.role).toBe('follower');
		expect(a.reasons.at(-1)).toBe('dropped');
		expect(a.seen).toEqual([1]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it('a paused leader that hears more of the new leader than it keeps reloads once it steps down', async () => {
		const { browser, a, b } = await pausedLeaderTakenOver();
		browser.wake('a');
		const fromB = browser.channel('b')('aco:ws://aco.test/ws');
		for (let seq = 2; seq <= MAX_UNHEARD_POSTS + 2; seq++)
			fromB.postMessage({ t: 'events', from: 'b', events: [progress(seq)] });
		await drain();
		expect(a.seen).toEqual([1]);
		browser.tellSteals('a');
		await drain();
		expect(a.link.role).toBe('follower');
		expect(a.reasons.at(-1)).toBe('dropped');
		expect(a.seen).toEqual([1]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it('a deposed leader stays ignored after the tab that took over hands over in turn', async () => {
		const { factory, browser, open } = browserWithTabs();
		const a = open('a', { mine: { task_ids: ['t1'] } });
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		const b = open('b', { yours: { task_ids: ['t2'] } });
		const c = open('c', { theirs: { task_ids: ['t3'] } });
		const d = open('d', { all: { types: ['task.*'] } });
		await drain();
		confirmAll(factory.last);
		factory.last.event(progress(1, 't2'));
		await drain();
		browser.hang('a');
		b.connection.retryNow();
		vi.advanceTimersByTime(5_000);
		await drain();
		expect(b.link.role).toBe('leader');
		// the tab that took over closes; the next in line leads by the usual handover
		b.crash();
		await drain();
		expect(c.link.role).toBe('leader');
		// the hung tab wakes and passes on what its socket had
		browser
			.channel('a')('aco:ws://aco.test/ws')
			.postMessage({ t: 'events', from: 'a', events: [progress(3, 't2')] });
		await drain();
		expect(d.seen).toEqual([1]);
		a.connection.destroy();
		c.connection.destroy();
		d.connection.destroy();
	});

	it('a tab the browser refuses the locks connects on its own and gets its events', async () => {
		const factory = socketFactory();
		const link = new TabShare({
			hub: { url: 'ws://aco.test/ws', createSocket: factory.create },
			locks: { request: () => Promise.reject(new DOMException('no locks here', 'SecurityError')) },
			openChannel: new FakeBrowser().channel('a'),
			tabId: 'a'
		});
		const connection = new TabConnection({ link });
		const seen: number[] = [];
		connection.onEvent((event) => seen.push(event.seq));
		connection.subscribe('mine', { task_ids: ['t1'] });
		connection.connect();
		await drain();
		expect(link.role).toBe('solo');
		expect(connection.snapshot().sharing).toBe('solo');
		factory.last.open();
		factory.last.welcome({ epoch: 'e1', seq: 0 });
		confirmAll(factory.last);
		factory.last.event(progress(1, 't1'));
		await drain();
		expect(seen).toEqual([1]);
		connection.destroy();
	});

	it('serves 40 task pages in four tabs with one hub subscription; each tab gets only its own tasks, and closing tabs shrinks it until the last unsubscribes', async () => {
		const { factory, open } = browserWithTabs();
		const taskIds = (n: number) => Array.from({ length: 10 }, (_, i) => `t${n * 10 + i}`);
		const tabs = ['a', 'b', 'c', 'd'].map((id, n) =>
			open(id, Object.fromEntries(taskIds(n).map((task) => [`task:${task}`, { task_ids: [task] }])))
		);
		await drain();
		const socket = factory.last;
		socket.open();
		socket.welcome({ epoch: 'e1', seq: 0 });
		const hub = new FakeHubSubscriptions(socket);
		hub.answer();
		await drain();
		expect(factory.sockets).toHaveLength(1);
		const held = () => [...hub.held.values()].flatMap((filter) => filter.task_ids ?? []).sort();
		expect(hub.held.size).toBe(1);
		expect(held()).toEqual([0, 1, 2, 3].flatMap(taskIds).sort());
		for (const tab of tabs) {
			expect(tab.connection.snapshot().status).toBe('live');
			expect(tab.reasons).toEqual(['subscribed']);
		}

		for (let i = 0; i < 40; i++) socket.event(progress(i + 1, `t${i}`));
		await drain();
		tabs.forEach((tab, n) => expect(tab.seen).toEqual(taskIds(n).map((_, i) => n * 10 + i + 1)));

		tabs[3]!.crash();
		await drain();
		tabs[1]!.connection.destroy();
		await drain();
		hub.answer();
		expect(held()).toEqual([0, 2].flatMap(taskIds).sort());
		tabs[2]!.connection.destroy();
		await drain();
		hub.answer();
		expect(held()).toEqual(taskIds(0).sort());
		expect(socket.sentOfType('unsubscribe')).toEqual([]);
		for (const task of taskIds(0)) tabs[0]!.connection.unsubscribe(`task:${task}`);
		hub.answer();
		expect(socket.sentOfType('unsubscribe')).toHaveLength(1);
		expect(hub.held.size).toBe(0);
		tabs[0]!.connection.destroy();
	});

	it("shows a tab whose subscription the hub refuses as 'unavailable' with the hub's reason, across tabs, until the hub takes it", async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a');
		// 32 subscriptions the hub holds, which cannot share (each at a rate of its own)
		for (let i = 0; i < 32; i++)
			a.connection.subscribe(`rate${i}`, { types: ['task.*'] }, { maxRate: i + 1 });
		const socket = factory.last;
		socket.open();
		socket.welcome({ epoch: 'e1', seq: 0 });
		const hub = new FakeHubSubscriptions(socket);
		const b = open('b', { 'task:t1': { task_ids: ['t1'] } });
		await drain();
		expect(b.link.role).toBe('follower');
		hub.answer();
		await drain();
		expect(b.connection.snapshot()).toMatchObject({
			state: 'connected',
			status: 'unavailable',
			unavailable: { code: 'too_many_subscriptions', message: expect.stringContaining('32 subscriptions') }
		});
		expect(a.connection.snapshot()).toMatchObject({ status: 'live', unavailable: null });
		// the page loaded what it shows all the same
		expect(b.reasons).toEqual(['subscribed']);

		// a subscription of another tab goes: the refused one is asked for again and taken
		a.connection.unsubscribe('rate0');
		await drain();
		hub.answer();
		await drain();
		expect(b.connection.snapshot()).toMatchObject({ status: 'live', unavailable: null });
		socket.event(progress(1, 't1'));
		await drain();
		expect(b.seen).toEqual([1]);
		a.connection.destroy();
		b.connection.destroy();
	});

	it('leaves no timer behind when every tab is gone', async () => {
		const { factory, open } = browserWithTabs();
		const a = open('a', { dash: {} });
		factory.last.open();
		factory.last.welcome();
		const b = open('b', { dash: {} });
		await drain();
		b.connection.destroy();
		a.connection.destroy();
		await drain();
		expect(vi.getTimerCount()).toBe(0);
	});
});
