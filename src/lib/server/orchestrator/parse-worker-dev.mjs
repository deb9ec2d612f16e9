// The workflow parse worker from the TypeScript sources (dev, tests, benches): a worker thread
// cannot be given tsx through its execArgv, so this module loads the worker with tsx's API.
import { tsImport } from 'tsx/esm/api';

await tsImport('./parse-worker.ts', import.meta.url);
