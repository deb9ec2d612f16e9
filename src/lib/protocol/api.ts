/**
 * @module protocol/api
 * Response bodies of the REST API under /api/v1. Errors are always {@link ApiErrorBody}
 * (`{ error: { code, message } }`) with a matching HTTP status.
 *
 * | method & path                          | response                                   |
 * | -------------------------------------- | ------------------------------------------ |
 * | GET  /api/v1/healthz                   | HealthResponse                             |
 * | GET  /api/v1/workflows                 | WorkflowsResponse                          |
 * | POST /api/v1/workflows/{name}/runs     | 201 RunResponse (503 while shutting down)  |
 * | GET  /api/v1/runs?status=&workflow=&limit= | RunsResponse (newest first)            |
 * | GET  /api/v1/runs/{id}                 | RunDetailResponse                          |
 * | POST /api/v1/runs/{id}/cancel          | RunResponse (409 when already finished)    |
 * | GET  /api/v1/tasks?status=&run_id=&limit= | TasksResponse (newest first)            |
 * | POST /api/v1/tasks                     | 201 IngestTaskResponse (ingest; see ./ingest.ts) |
 * | POST /api/v1/tasks/{id}/events         | IngestEventsResponse (ingest; see ./ingest.ts)   |
 * | GET  /api/v1/tasks/{id}                | TaskResponse (with executions)             |
 * | POST /api/v1/tasks/{id}/cancel         | TaskResponse (409 when already finished)   |
 * | GET  /api/v1/executions/{id}           | ExecutionResponse                          |
 * | GET  /api/v1/executions/{id}/log       | text/plain attachment, streamed; `?after=N` only lines after N; `?format=ndjson` one LogLine JSON per line |
 */
import type { Execution, Task, TaskDetail, WorkflowLoadError, WorkflowRun, WorkflowSummary } from './models';

export const API_BASE = '/api/v1';

export interface HealthResponse {
	status: 'ok';
	version: string;
	started_at: string;
	uptime_s: number;
}
export interface WorkflowsResponse {
	workflows: WorkflowSummary[];
	errors: WorkflowLoadError[];
}
export interface RunResponse {
	run: WorkflowRun;
}
export interface RunsResponse {
	runs: WorkflowRun[];
}
export interface RunDetailResponse {
	run: WorkflowRun;
	tasks: Task[];
}
export interface TasksResponse {
	tasks: Task[];
}
export interface TaskResponse {
	task: TaskDetail;
}
export interface ExecutionResponse {
	execution: Execution;
}
