/**
 * @module orchestrator/parse-worker
 * A worker thread that parses one large workflow file (see workflow-parse.ts) and answers with
 * what parseWorkflowFile made of it, as JSON (or that it would be too large to send as such:
 * see replyFor). It parses one file and is then stopped.
 */
import { parentPort } from 'node:worker_threads';
import { parseWorkflowText, replyFor, type ToParseWorker } from './workflow-parse';

parentPort!.once('message', ({ text, file }: ToParseWorker) => {
	parentPort!.postMessage(replyFor(parseWorkflowText(text, file), text));
});
