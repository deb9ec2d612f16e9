/**
 * @module orchestrator/types
 * What the rest of the server sees of the orchestrator.
 */
import type { WorkflowLoadError, WorkflowRun, WorkflowSummary } from '../../protocol';

export interface Orchestrator {
	/** (re)reads the workflows folder; broken files are reported, the others load */
	listWorkflows(): Promise<{ workflows: WorkflowSummary[]; errors: WorkflowLoadError[] }>;
	/** creates the run and its tasks, starts scheduling, resolves once they are stored */
	startRun(workflowName: string): Promise<WorkflowRun>;
	/** cancels every unfinished task of a run; false if the run is unknown or already over */
	cancelRun(runId: string): Promise<boolean>;
	/** cancels one task (SIGTERM to its process group, SIGKILL after the grace period) */
	cancelTask(taskId: string): Promise<boolean>;
	/** marks what a dead process left running as interrupted; call once at start */
	recover(): Promise<void>;
	/** stops running tools, marks their tasks interrupted, waits for the writes */
	shutdown(): Promise<void>;
}

export { WorkflowInvalidError, WorkflowNotFoundError } from './workflow-errors';

/** Thrown by startRun once shutdown has begun; the REST API answers it with 503. */
export class OrchestratorClosedError extends Error {
	readonly code = 'shutting_down';
	constructor() {
		super('The server is shutting down; no new runs start. Try again once it is back.');
	}
}
