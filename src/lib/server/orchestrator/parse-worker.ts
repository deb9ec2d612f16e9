/**
 * @module orchestrator/parse-worker
 * A worker thread that parses one large workflow file (see workflow-parse.ts) and answers with
 * what parseWorkflowFile made of it, as plain data. It parses one file and is then stopped.
 */
import { parentPort } from 'node:worker_threads';
import { parseWorkflowText, type ToParseWorker } from './workflow-parse';

parentPort!.once('message', ({ text, file }: ToParseWorker) => {
	// as JSON: the loop reads that back several times faster than a cloned object graph
	parentPort!.postMessage(JSON.stringify(parseWorkflowText(text, file)));
});
