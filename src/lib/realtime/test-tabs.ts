/**
 * @module realtime/test-tabs
 * A browser's Web Locks and BroadcastChannel for specs of tab sharing: exclusive locks granted
 * in request order, held until the callback's promise settles or the tab holding them "closes"
 * ({@link FakeBrowser.close}, as a browser frees a closed tab's locks), and channels that deliver
 * each message to every other channel of the same name, in order, on a later microtask.
 */
import type { ChannelLike, LockManagerLike } from './tab-share';

interface Request {
	owner: string;
	name: string;
	callback: (lock: unknown) => unknown;
	signal?: AbortSignal;
	resolve: (value: unknown) => void;
	reject: (err: unknown) => void;
}

interface Held {
	owner: string;
	release: () => void;
	/** the lock was taken by a `steal` request: the holder's request fails */
	steal: () => void;
}

class FakeChannel implements ChannelLike {
	onmessage: ((ev: { data: unknown }) => void) | null = null;
	closed = false;
	deaf = false;
	mute = false;

	constructor(
		readonly owner: string,
		readonly name: string,
		private readonly browser: FakeBrowser
	) {}

	postMessage(message: unknown): void {
		if (this.closed) throw new Error('channel closed');
		if (this.mute) return;
		this.browser.deliver(this, structuredClone(message));
	}

	close(): void {
		this.closed = true;
	}
}

export class FakeBrowser {
	readonly #held = new Map<string, Held>();
	readonly #queue: Request[] = [];
	readonly #channels: FakeChannel[] = [];
	readonly #closed = new Set<string>();
	/** tabs paused (a debugger, a frozen page): a lock taken from them is told them only later */
	readonly #frozen = new Set<string>();
	/** the news of locks taken from a frozen tab, by tab, until {@link tellSteals} */
	readonly #untold = new Map<string, (() => void)[]>();
	/** every message posted, for specs that look at the traffic */
	readonly posted: { from: string; message: unknown }[] = [];

	/** The Web Locks of one tab. */
	locks(owner: string): LockManagerLike {
		return {
			request: (name, options, callback) =>
				new Promise((resolve, reject) => {
					if (this.#closed.has(owner)) return reject(new Error('tab closed'));
					if (options.signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
					if (options.ifAvailable && this.#held.has(name)) {
						void Promise.resolve(callback(null)).then(resolve, reject);
						return;
					}
					const request: Request = { owner, name, callback, signal: options.signal, resolve, reject };
					if (options.steal) {
						this.#held.get(name)?.steal();
						this.#queue.unshift(request);
						this.#grant();
						return;
					}
					options.signal?.addEventListener('abort', () => {
						const at = this.#queue.indexOf(request);
						if (at === -1) return;
						this.#queue.splice(at, 1);
						reject(new DOMException('aborted', 'AbortError'));
					});
					this.#queue.push(request);
					this.#grant();
				})
		};
	}

	/** The BroadcastChannel constructor of one tab. */
	channel(owner: string): (name: string) => ChannelLike {
		return (name) => {
			const channel = new FakeChannel(owner, name, this);
			this.#channels.push(channel);
			return channel;
		};
	}

	/** The tab is gone: its channels stop, its locks are freed and its waiting requests dropped. */
	close(owner: string): void {
		this.#closed.add(owner);
		for (const channel of this.#channels) if (channel.owner === owner) channel.closed = true;
		for (let i = this.#queue.length - 1; i >= 0; i--)
			if (this.#queue[i]!.owner === owner) this.#queue.splice(i, 1);
		for (const [name, held] of [...this.#held]) {
			if (held.owner !== owner) continue;
			this.#held.delete(name);
		}
		this.#grant();
	}

	/** The tab hangs: messages no longer reach it (its locks stay held). */
	deafen(owner: string): void {
		for (const channel of this.#channels) if (channel.owner === owner) channel.deaf = true;
	}

	/**
	 * The tab hangs for the others: it neither hears nor is heard over the channels it has open
	 * (its locks stay held; a channel it opens later is heard, as a tab that wakes up).
	 */
	hang(owner: string): void {
		for (const channel of this.#channels) {
			if (channel.owner !== owner) continue;
			channel.deaf = true;
			channel.mute = true;
		}
	}

	/**
	 * The tab is paused, as in a debugger: it neither hears nor is heard (what is posted to it
	 * meanwhile is lost, as Chrome loses it), and a lock taken from it is told it only once
	 * {@link tellSteals} is called.
	 */
	freeze(owner: string): void {
		this.#frozen.add(owner);
		this.hang(owner);
	}

	/**
	 * The paused tab runs again and hears the channels from now on; that its locks were taken it
	 * learns later still ({@link tellSteals}), as a page runs the tasks queued while it was paused.
	 */
	wake(owner: string): void {
		this.#frozen.delete(owner);
		for (const channel of this.#channels) {
			if (channel.owner !== owner) continue;
			channel.deaf = false;
			channel.mute = false;
		}
	}

	/** Tells a tab that woke up which of its locks were taken while it was paused. */
	tellSteals(owner: string): void {
		const untold = this.#untold.get(owner) ?? [];
		this.#untold.delete(owner);
		for (const tell of untold) tell();
	}

	/** who holds a lock, if anyone */
	holder(name: string): string | null {
		return this.#held.get(name)?.owner ?? null;
	}

	deliver(from: FakeChannel, message: unknown): void {
		this.posted.push({ from: from.owner, message });
		const receivers = this.#channels.filter((c) => c !== from && c.name === from.name && !c.closed);
		queueMicrotask(() => {
			for (const channel of receivers)
				if (!channel.closed && !channel.deaf) channel.onmessage?.({ data: message });
		});
	}

	#grant(): void {
		for (let i = 0; i < this.#queue.length; i++) {
			const request = this.#queue[i]!;
			if (this.#held.has(request.name)) continue;
			this.#queue.splice(i--, 1);
			let released = false;
			const release = () => {
				if (released) return;
				released = true;
				if (this.#held.get(request.name)?.release === release) this.#held.delete(request.name);
				this.#grant();
			};
			const steal = () => {
				released = true;
				this.#held.delete(request.name);
				const tell = () => request.reject(new DOMException('the lock was stolen', 'AbortError'));
				if (!this.#frozen.has(request.owner)) return tell();
				this.#untold.set(request.owner, [...(this.#untold.get(request.owner) ?? []), tell]);
			};
			this.#held.set(request.name, { owner: request.owner, release, steal });
			let result: unknown;
			try {
				result = request.callback({ name: request.name });
			} catch (err) {
				release();
				request.reject(err);
				continue;
			}
			void Promise.resolve(result).then(
				(value) => {
					release();
					request.resolve(value);
				},
				(err) => {
					release();
					request.reject(err);
				}
			);
		}
	}
}

/** Lets queued microtasks (channel messages, lock grants) run. */
export async function drain(rounds = 10): Promise<void> {
	for (let i = 0; i < rounds; i++) await Promise.resolve();
}
