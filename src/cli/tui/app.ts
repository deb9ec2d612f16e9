/**
 * @module cli/tui/app
 * The dashboard at work: a realtime client feeds the model (task list over REST, then `task.*`
 * events; a reload after every reconnect, reset or drop), the output panel follows the selected
 * task's newest tool (output-follower), keys become actions, and the screen redraws what changed.
 * Every timer, listener and socket it makes is released by `close()`.
 */
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import type { TokenSource } from '../args';
import { isTerminal } from '../../lib/protocol/models';
import { uniqueById } from '../../lib/realtime/records';
import { errorText, painter } from '../follow/format';
import { olderHubStatus } from '../follow/older-hub';
import { RealtimeClient, type RealtimeClientOptions } from '../realtime/client';
import { RestClient } from '../realtime/rest';
import { RestRetry } from '../realtime/rest-retry';
import { keyAction, parseKeys, type Action } from './keys';
import { renderDashboard } from './layout';
import { DashboardModel } from './model';
import { OutputFollower } from './output-follower';
import { Screen, type TerminalOut } from './screen';

const TASKS_SUBSCRIPTION = 'watch';
/** Holding an arrow key should not fetch every log it passes over. */
const SELECT_DEBOUNCE_MS = 120;
const TICK_MS = 1_000;

export interface TerminalIn {
	isTTY?: boolean;
	setRawMode?(mode: boolean): unknown;
	on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
	off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
	resume?(): unknown;
	pause?(): unknown;
	setEncoding?(encoding: BufferEncoding): unknown;
}

export interface TuiAppOptions {
	url: string;
	token?: string;
	/** where `token` came from, named when the server refuses it */
	tokenSource?: TokenSource;
	stdin: TerminalIn;
	stdout: TerminalOut & { isTTY?: boolean };
	/** q or Ctrl-C */
	onQuit: () => void;
	/**
	 * The connection is gone for good and will not come back by itself: the address has no aco
	 * hub (the upgrade was refused with a 404 or the like, see cli/realtime/socket), the token is
	 * wrong or was revoked (401/403, or the hub's 4500/4504 close), or another close that forbids
	 * reconnecting. `message` is the one line a command ends with (for no hub: the URL to check).
	 * Without it the status line says so until the person quits.
	 */
	onOffline?: (message: string) => void;
	client?: Partial<RealtimeClientOptions>;
	/** for specs: the fetch REST calls go through */
	fetch?: typeof fetch;
	frameMs?: number;
	now?: () => number;
}

export class TuiApp {
	readonly model = new DashboardModel();
	readonly #options: TuiAppOptions;
	readonly #client: RealtimeClient;
	readonly #rest: RestClient;
	readonly #screen: Screen;
	readonly #now: () => number;
	readonly #server: string;
	readonly #output: OutputFollower;
	#ticker: ReturnType<typeof setInterval> | null = null;
	#selectTimer: ReturnType<typeof setTimeout> | null = null;
	#loading: Promise<void> | null = null;
	#reloadAgain = false;
	#closed = false;
	/** aborted by close(): ends a task-list load waiting out a failing server */
	readonly #stop = new AbortController();

	constructor(options: TuiAppOptions) {
		this.#options = options;
		this.#now = options.now ?? (() => Date.now());
		this.#client = new RealtimeClient({
			url: options.url,
			token: options.token,
			tokenSource: options.tokenSource,
			...options.client
		});
		this.#rest = new RestClient(options);
		this.#server = new URL(this.#rest.base).host;
		this.#output = new OutputFollower({
			model: this.model,
			client: this.#client,
			rest: this.#rest,
			invalidate: () => this.#screen.invalidate(),
			backoff: options.client?.backoff
		});
		const paint = painter(options.stdout);
		this.#screen = new Screen({
			out: options.stdout,
			frameMs: options.frameMs,
			draw: (cols, rows) =>
				renderDashboard(this.model, { cols, rows, now: this.#now(), server: this.#server, paint })
		});
	}

	start(): void {
		const client = this.#client;
		client.onEvent((event) => this.#onEvent(event));
		// every welcome: a reconnect may reach an updated server (or another node of an older one)
		client.onControl((message) => {
			if (message.type !== 'welcome') return;
			this.model.olderHub = olderHubStatus(message.data.protocol);
			this.#screen.invalidate();
		});
		client.onResync(() => {
			void this.reload();
			this.#output.resync();
		});
		client.onStateChange((state) => {
			this.#syncConnection();
			// as `aco logs -f` and `aco run --follow` do: only close() (destroyed) is no reason to stop
			if (state === 'offline' && client.offlineReason !== 'destroyed' && !this.#closed) {
				this.#options.onOffline?.(client.offlineMessage);
			}
		});
		client.subscribe(TASKS_SUBSCRIPTION, { types: ['task.*', 'workflow.*'] });
		this.#screen.start();
		const { stdin } = this.#options;
		stdin.setRawMode?.(true);
		stdin.setEncoding?.('utf8');
		stdin.on('data', this.#onInput);
		stdin.resume?.();
		this.#ticker = setInterval(() => this.#tick(), TICK_MS);
		client.connect();
		this.#syncConnection();
	}

	/** Gives the terminal back and closes the connection. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#stop.abort();
		if (this.#ticker) clearInterval(this.#ticker);
		if (this.#selectTimer) clearTimeout(this.#selectTimer);
		this.#output.destroy();
		this.#client.destroy();
		const { stdin } = this.#options;
		stdin.off('data', this.#onInput);
		stdin.setRawMode?.(false);
		stdin.pause?.();
		this.#screen.stop();
	}

	/** Restores the terminal only (for exit and crash handlers, which cannot wait). */
	restoreTerminal(): void {
		this.#options.stdin.setRawMode?.(false);
		this.#screen.stop();
	}

	/** Reloads the task list; concurrent calls share one load and one follow-up. */
	reload(): Promise<void> {
		if (this.#loading) {
			this.#reloadAgain = true;
			return this.#loading;
		}
		this.#loading = (async () => {
			do {
				this.#reloadAgain = false;
				await this.#loadOnce();
			} while (this.#reloadAgain && !this.#closed);
		})().finally(() => (this.#loading = null));
		return this.#loading;
	}

	/** Applies one action (public for specs). */
	async act(action: Action): Promise<void> {
		const model = this.model;
		switch (action.type) {
			case 'move':
				if (model.move(action.delta)) this.#selectionChanged();
				break;
			case 'first':
				if (model.move(-model.tasks.length)) this.#selectionChanged();
				break;
			case 'last':
				if (model.move(model.tasks.length)) this.#selectionChanged();
				break;
			case 'toggle-expand':
				model.expanded = !model.expanded;
				break;
			case 'collapse':
				model.expanded = false;
				break;
			case 'cancel': {
				const task = model.selected;
				if (!task) break;
				if (isTerminal(task.status))
					model.notify('info', `${task.name || task.key} already ${task.status}.`, this.#now());
				else model.confirmCancel = task.id;
				break;
			}
			case 'confirm': {
				const id = model.confirmCancel;
				model.confirmCancel = null;
				if (id && action.yes) await this.#cancel(id);
				break;
			}
			case 'quit':
				this.#options.onQuit();
				return;
		}
		this.#screen.invalidate();
	}

	// ---------- input ----------

	readonly #onInput = (chunk: Buffer | string) => {
		const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
		for (const key of parseKeys(text)) {
			const action = keyAction(key, this.model.confirmCancel !== null);
			if (action) void this.act(action);
		}
	};

	async #cancel(taskId: string): Promise<void> {
		const task = this.model.tasks.find((t) => t.id === taskId);
		const name = task?.name || task?.key || taskId;
		try {
			await this.#rest.cancelTask(taskId);
			this.model.notify('info', `Cancel requested for ${name}.`, this.#now());
		} catch (err) {
			this.model.notify('error', `Could not cancel ${name}: ${errorText(err)}`, this.#now());
		}
		this.#screen.invalidate();
	}

	// ---------- data ----------

	/**
	 * One task-list load, asked for again while the server fails in a way that may pass (a proxy's
	 * 502 while it restarts), as the output panel's log is; the screen says so meanwhile. Each load
	 * retries on its own, so each one that meets a failing server shows that it tries again.
	 */
	async #loadOnce(): Promise<void> {
		this.model.beginLoad();
		this.#screen.invalidate();
		const retry = new RestRetry({
			signal: this.#stop.signal,
			onOutage: (err) => {
				this.model.retryLoad(errorText(err));
				this.#screen.invalidate();
			},
			backoff: this.#options.client?.backoff
		});
		try {
			const [recent, running] = await retry.run((signal) =>
				Promise.all([
					this.#rest.listTasks({ limit: 100 }, signal),
					this.#rest.listTasks({ status: 'running', limit: 100 }, signal)
				])
			);
			this.model.endLoad(uniqueById([...recent.tasks, ...running.tasks]));
			this.#followSelected(true);
		} catch (err) {
			// close() ended the wait: nothing is shown any more
			if (this.#closed) return;
			this.model.failLoad(errorText(err));
		}
		this.#screen.invalidate();
	}

	#onEvent(event: AnyEventEnvelope): void {
		const before = this.model.selectedId;
		const changed = this.model.apply(event, this.#now());
		if (before !== this.model.selectedId) this.#selectionChanged();
		if (event.type.startsWith('tool.')) this.#output.onToolEvent(event);
		if (changed) this.#screen.invalidate();
	}

	#selectionChanged(): void {
		if (this.#selectTimer) clearTimeout(this.#selectTimer);
		this.#selectTimer = setTimeout(() => {
			this.#selectTimer = null;
			this.#followSelected(false);
		}, SELECT_DEBOUNCE_MS);
		this.#screen.invalidate();
	}

	/** Points the output panel at the selected task (again, after a reload). */
	#followSelected(refresh: boolean): void {
		const task = this.model.selected;
		if (task) this.#output.follow(task, refresh);
	}

	// ---------- clock ----------

	#syncConnection(): void {
		const c = this.#client;
		this.model.connection = {
			state: c.state,
			attempt: c.attempt,
			secondsUntilRetry: c.secondsUntilRetry,
			offlineReason: c.offlineReason,
			lastClose: c.lastClose
		};
		this.#screen.invalidate();
	}

	#tick(): void {
		this.model.expireNotice(this.#now());
		this.#syncConnection();
	}
}
