/**
 * Signing in as a person does: the sign-in page, a viewer's dashboard without Run or Cancel,
 * sign-out closing the session's sockets within a second and sending every tab to sign-in, and
 * an operator whose session expires mid-stream being sent back to the sign-in page.
 */
import path from 'node:path';
import type { Page, WebSocket } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { WebSocket as NodeWebSocket } from 'ws';
import type { RunResponse } from '../../src/lib/protocol';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const OPERATOR = 'e2e-operator-token-0123456789';
const VIEWER = 'e2e-viewer-token-0123456789';
const WORKFLOWS = path.join(ROOT, 'tests/fixtures/workflows');

async function startRun(aco: AcoProcess, workflow: string): Promise<RunResponse> {
	const res = await fetch(`${aco.url}/api/v1/workflows/${workflow}/runs`, {
		method: 'POST',
		headers: { authorization: `Bearer ${OPERATOR}` }
	});
	expect(res.status).toBe(201);
	return (await res.json()) as RunResponse;
}

async function signIn(page: Page, token: string): Promise<void> {
	await page.getByLabel('API token').fill(token);
	await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * A hub connection of the page's session that no tab owns (tabs may share one socket), so the
 * server's own close is timed: the code and when it came.
 */
async function sessionSocket(
	page: Page,
	wsUrl: string
): Promise<{ closed: Promise<{ code: number; at: number }> }> {
	const session = (await page.context().cookies()).find((c) => c.name === 'aco_session');
	expect(session).toBeDefined();
	const ws = new NodeWebSocket(wsUrl, { headers: { cookie: `aco_session=${session!.value}` } });
	const closed = new Promise<{ code: number; at: number }>((resolve) =>
		ws.once('close', (code: number) => resolve({ code, at: Date.now() }))
	);
	await new Promise<void>((resolve, reject) => {
		ws.once('open', () => resolve());
		ws.once('error', reject);
	});
	// wrapped: an async function returning the bare promise would wait for the close
	return { closed };
}

/** The hub socket a page opens next, with the time it closes. */
function nextHubSocket(page: Page): Promise<{ socket: WebSocket; closed: Promise<number> }> {
	return new Promise((resolve) => {
		const onSocket = (socket: WebSocket) => {
			// the hub's path; the query carries the page's subscriptions (protocol v2)
			if (new URL(socket.url()).pathname !== '/ws') return;
			page.off('websocket', onSocket);
			resolve({ socket, closed: new Promise((done) => socket.on('close', () => done(Date.now()))) });
		};
		page.on('websocket', onSocket);
	});
}

test.describe('browser sign-in', () => {
	let aco: AcoProcess;

	test.afterEach(async () => {
		await aco?.stop();
	});

	test('a viewer signs in, watches without Run or Cancel, and signing out closes the session’s sockets within a second and sends both tabs to sign-in', async ({
		context,
		page
	}) => {
		aco = await startAco({
			workflowsDir: WORKFLOWS,
			env: { ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` }
		});
		await page.goto(`${aco.url}/`);
		await expect(page).toHaveURL(/\/signin$/);
		await expect(page.getByRole('heading', { name: 'Sign in to aco' })).toBeVisible();
		// signed out, the pages would only lead back here
		await expect(page.getByRole('navigation', { name: 'Main' })).toHaveCount(0);

		await signIn(page, 'not-a-token-0123456789');
		await expect(page.getByRole('alert').filter({ hasText: 'not valid' })).toHaveText(
			/not valid on this server/
		);

		const firstSocket = nextHubSocket(page);
		await signIn(page, VIEWER);
		await expect(page).toHaveURL(`${aco.url}/`);
		await firstSocket;
		await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
		await expect(page.getByTestId('user-menu')).toContainText('viewer');
		await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
		await expect(page.getByTestId('read-only-note')).toBeVisible();
		await expect(page.getByTestId('workflow-row').first()).toBeVisible();
		await expect(page.getByRole('button', { name: 'Run' })).toHaveCount(0);

		// a run an operator starts reaches the viewer live, without a Cancel button
		const { run } = await startRun(aco, 'slow');
		const row = page.locator(`[data-run-id="${run.id}"]`);
		await expect(row).toHaveAttribute('data-status', 'running');
		await expect(row.getByRole('button', { name: /Cancel/ })).toHaveCount(0);

		// a second tab of the same browser shares the session, and so does a socket no tab owns
		const other = await context.newPage();
		await other.goto(`${aco.url}/`);
		await expect(other.getByTestId('connection-status')).toHaveText(/Connected/);
		const { closed } = await sessionSocket(page, aco.wsUrl);

		const signedOut = page.waitForResponse((r) => r.url().endsWith('/signout'));
		await page.getByRole('button', { name: 'Sign out' }).click();
		await signedOut;
		const answeredAt = Date.now();
		const { code, at } = await closed;
		expect(code).toBe(4503);
		expect(at - answeredAt).toBeLessThan(1_000);
		await expect(page).toHaveURL(/\/signin\?reason=signed_out$/);
		await expect(page.getByText('You have signed out.')).toBeVisible();
		// the other tab learns it from the shared socket's 4503 (signed out) or, when the tab that
		// signed out left first and took the shared socket with it, from its own refused reconnect
		await expect(other).toHaveURL(/\/signin\?reason=(signed_out|expired)$/);
		await expect(other.getByText(/You have signed out\.|Your session has expired\./)).toBeVisible();

		await fetch(`${aco.url}/api/v1/runs/${run.id}/cancel`, {
			method: 'POST',
			headers: { authorization: `Bearer ${OPERATOR}` }
		});
	});

	test('an operator runs a workflow, and a session expiring mid-stream returns the page to sign-in', async ({
		page
	}) => {
		aco = await startAco({
			workflowsDir: WORKFLOWS,
			env: { ACO_TOKEN: OPERATOR, ACO_SESSION_MAX_AGE_MS: '12000', ACO_SESSION_CHECK_MS: '1000' }
		});
		await page.goto(`${aco.url}/tasks/none-yet`);
		await expect(page).toHaveURL(/\/signin\?next=%2Ftasks%2Fnone-yet$/);
		await page.goto(`${aco.url}/signin`);
		const socket = nextHubSocket(page);
		await signIn(page, OPERATOR);
		await expect(page.getByTestId('user-menu')).toContainText('operator');
		const { closed } = await socket;

		const slow = page.getByTestId('workflow-row').filter({ has: page.getByText('slow', { exact: true }) });
		await slow.getByRole('button', { name: 'Run' }).click();
		const row = page.getByTestId('run-row').first();
		await expect(row).toHaveAttribute('data-status', 'running');
		await expect(row.getByRole('button', { name: /Cancel run/ })).toBeVisible();

		await closed;
		await expect(page).toHaveURL(/\/signin\?reason=expired$/, { timeout: 30_000 });
		await expect(page.getByText('Your session has expired')).toBeVisible();
	});
});
