/**
 * @module ingest/task-masks
 * One stand-alone task's secrets on this node: the server's own credentials and the values the
 * task announced with `::add-mask::`. In a cluster a proxy may hand a producer's requests to any
 * node, so the values go through the shared registry (masking/mask-registry): a node adds what
 * other nodes heard before it applies a request's output ({@link catchUp}), and hands on what it
 * heard itself before it stores the line that announced it ({@link share}). When either cannot
 * reach Redis the request fails with a retryable 503 and nothing of its output is stored. Without
 * a registry (one node) both do nothing and cost nothing.
 */
import type { Logger } from '../logger';
import type { MaskListPosition, MaskRegistry } from '../masking/mask-registry';
import { MaskSet } from '../masking/mask-set';
import { IngestError } from './ingest-error';

export interface TaskMasksOptions {
	taskId: string;
	/** masked in every task's output (the server's credentials); never shared */
	secrets: readonly string[];
	/** shared with the other nodes; null on a node of its own */
	registry: MaskRegistry | null;
	logger: Logger;
}

export class TaskMasks {
	/** what this task's output is masked with */
	readonly set: MaskSet;
	#options: TaskMasksOptions;
	/** where this node stands in the registry's list for the task: what it read of it */
	#at: MaskListPosition = { generation: null, length: 0, last: null };
	/** how many of the set's values are the server's secrets (the first ones) */
	#secrets: number;
	/** the set's values that are the secrets, came from the registry or were handed to it */
	#known: number;
	/** values heard here that the registry does not hold yet (a handing on failed, or the list was lost) */
	#unshared: string[] = [];

	constructor(options: TaskMasksOptions) {
		this.#options = options;
		this.set = new MaskSet(options.secrets);
		this.#secrets = this.set.size;
		this.#known = this.set.size;
	}

	/**
	 * Adds the values other nodes heard since the last call: one round trip to Redis. When the
	 * list this node read was lost or rolled back, every value it holds goes back before this
	 * resolves, for the nodes that had not read them.
	 */
	async catchUp(): Promise<void> {
		const { registry, taskId } = this.#options;
		if (!registry) return;
		this.#collect();
		const list = await this.#guard(registry.read(taskId, this.#at), 'read');
		for (const value of list.values) this.set.add(value);
		this.#known = this.set.size;
		// not the list this node read (made again, or an older copy of it): it may lack its values
		const known = this.#at.generation;
		if (list.rolledBack || (known !== null && list.generation !== known)) this.#lost();
		this.#at = { generation: list.generation, length: list.length, last: list.last };
		await this.share();
	}

	/** Hands on the values heard here since the last call; resolves once Redis holds them. */
	async share(): Promise<void> {
		const { registry, taskId } = this.#options;
		if (!registry) return;
		// twice at most: an add that made the list again (it was lost since this node read it) is
		// followed by one with every value this node holds
		for (let attempt = 0; attempt < 2; attempt++) {
			this.#collect();
			if (this.#unshared.length === 0) return;
			const values = this.#unshared;
			this.#unshared = [];
			let added: { generation: string };
			try {
				added = await this.#guard(registry.add(taskId, values), 'add');
			} catch (err) {
				this.#unshared = [...values, ...this.#unshared];
				throw err;
			}
			const known = this.#at.generation;
			// a list this node has read none of yet, the first it knows or one made again
			if (known !== added.generation) this.#at = { generation: added.generation, length: 0, last: null };
			if (known === null || known === added.generation) return;
			this.#lost();
		}
	}

	/** the list was lost: every value heard goes on it again (it holds each value once) */
	#lost(): void {
		this.#unshared = this.set.valuesSince(this.#secrets);
	}

	/** values the set took since it was last looked at go on the list to hand on */
	#collect(): void {
		if (this.set.size <= this.#known) return;
		this.#unshared.push(...this.set.valuesSince(this.#known));
		this.#known = this.set.size;
	}

	async #guard<T>(work: Promise<T>, what: 'read' | 'add'): Promise<T> {
		try {
			return await work;
		} catch (err) {
			this.#options.logger.warn(
				{ err, task_id: this.#options.taskId },
				`could not ${what} the task's shared mask values in Redis`
			);
			throw new IngestError(
				503,
				'masks_unavailable',
				"Redis, which holds this task's ::add-mask:: values for every node, cannot be reached, so output that may hold them was not stored (events before it were applied). Send the request again once Redis is back."
			);
		}
	}
}
