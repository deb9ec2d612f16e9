import { describe, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_CLIENT } from './limits';
import {
	connectSubscriptions,
	withConnectSubscriptions,
	type ConnectSubscription
} from './connect-subscriptions';

const tasks: ConnectSubscription = { sub: 'tasks', filter: { types: ['task.*'] } };
const one: ConnectSubscription = {
	sub: 'task-1',
	filter: { task_ids: ['t 1+&=?#'], types: ['tool.lines'] },
	max_rate: 4
};

/** the request URL a server sees for a client URL: path and query */
function requestUrl(url: string): string {
	const parsed = new URL(url);
	return parsed.pathname + parsed.search;
}

describe('withConnectSubscriptions', () => {
	it('carries each subscription as a parameter the hub reads back as the same subscribe message', () => {
		const { url, carried } = withConnectSubscriptions('ws://aco.test:3000/ws', [tasks, one]);
		expect(carried).toBe(2);
		expect(connectSubscriptions(requestUrl(url))).toEqual([
			{ ok: true, message: { type: 'subscribe', sub: 'tasks', filter: { types: ['task.*'] } } },
			{
				ok: true,
				message: {
					type: 'subscribe',
					sub: 'task-1',
					filter: { task_ids: ['t 1+&=?#'], types: ['tool.lines'] },
					max_rate: 4
				}
			}
		]);
	});

	it('keeps the query the URL already has and drops a fragment', () => {
		const { url } = withConnectSubscriptions('ws://aco.test/ws?token=abc#x', [tasks]);
		const parsed = new URL(url);
		expect(parsed.searchParams.get('token')).toBe('abc');
		expect(parsed.hash).toBe('');
		expect(connectSubscriptions(requestUrl(url))).toHaveLength(1);
		expect(withConnectSubscriptions('ws://aco.test/ws?', [tasks]).url).toMatch(/\/ws\?subscribe=/);
	});

	it('leaves the URL alone with nothing to carry', () => {
		expect(withConnectSubscriptions('ws://aco.test/ws', [])).toEqual({ url: 'ws://aco.test/ws', carried: 0 });
	});

	it('carries only the leading subscriptions that fit; the rest are left to messages', () => {
		const long: ConnectSubscription = {
			sub: 'long',
			filter: { task_ids: Array.from({ length: 200 }, (_, i) => `task-${i}-${'x'.repeat(20)}`) }
		};
		const { url, carried } = withConnectSubscriptions('ws://aco.test/ws', [tasks, long, one], 4096);
		expect(carried).toBe(1);
		expect(url.length).toBeLessThan('ws://aco.test/ws'.length + 4096);
		expect(connectSubscriptions(requestUrl(url)).map((r) => r.ok && r.message)).toEqual([
			{ type: 'subscribe', sub: 'tasks', filter: { types: ['task.*'] } }
		]);
	});
});

describe('connectSubscriptions', () => {
	it('finds none in a URL without them', () => {
		expect(connectSubscriptions(undefined)).toEqual([]);
		expect(connectSubscriptions('/ws')).toEqual([]);
		expect(connectSubscriptions('/ws?token=subscribe')).toEqual([]);
	});

	it('fills in the defaults a subscribe message gets', () => {
		expect(connectSubscriptions('/ws?subscribe=%7B%7D')).toEqual([
			{ ok: true, message: { type: 'subscribe', sub: 'default', filter: {} } }
		]);
	});

	it('says which parameter is wrong and why, and still reads the others', () => {
		const good = encodeURIComponent(JSON.stringify(tasks));
		const results = connectSubscriptions(
			`/ws?subscribe=${good}&subscribe=%7Bnot%20json&subscribe=%5B1%5D&subscribe=${encodeURIComponent(
				JSON.stringify({ filter: { types: ['nope'] } })
			)}`
		);
		expect(results.map((r) => r.ok)).toEqual([true, false, false, false]);
		const errors = results.flatMap((r) => (r.ok ? [] : [r.error]));
		expect(errors[0]).toMatchObject({ code: 'invalid_json', retryable: false });
		expect(errors[0]!.message).toContain('subscribe parameter 2');
		expect(errors[1]).toMatchObject({ code: 'invalid_message' });
		expect(errors[1]!.message).toContain('subscribe parameter 3');
		expect(errors[2]).toMatchObject({ code: 'invalid_message' });
		expect(errors[2]!.message).toMatch(/subscribe parameter 4: Invalid "subscribe" message: filter\.types/);
	});

	it('reads at most as many as a client may hold and says so once', () => {
		const value = encodeURIComponent('{}');
		const results = connectSubscriptions(
			`/ws?${Array(MAX_SUBSCRIPTIONS_PER_CLIENT + 50)
				.fill(`subscribe=${value}`)
				.join('&')}`
		);
		expect(results).toHaveLength(MAX_SUBSCRIPTIONS_PER_CLIENT + 1);
		expect(results.slice(0, -1).every((r) => r.ok)).toBe(true);
		expect(results.at(-1)).toMatchObject({ ok: false, error: { code: 'too_many_subscriptions' } });
	});

	it('takes a parameter as a subscription whatever "type" it names', () => {
		const value = encodeURIComponent(JSON.stringify({ type: 'resume', epoch: 'e', seq: 1 }));
		expect(connectSubscriptions(`/ws?subscribe=${value}`)).toEqual([
			{ ok: true, message: { type: 'subscribe', sub: 'default', filter: {} } }
		]);
	});
});
