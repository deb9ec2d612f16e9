/**
 * @module bench/peers/scenarios
 * The peers suite's scenarios in the order (0–10).
 */
import type { Scenario } from '../suite';
import { appBeside } from './app-beside';
import { churn } from './churn';
import { compression } from './compression';
import { fanout } from './fanout';
import { filtered } from './filtered';
import { hugeLog } from './huge-log';
import { idleMemory } from './idle-memory';
import { latency } from './latency';
import { lossless } from './lossless';
import { replay } from './replay';
import { slowConsumer } from './slow-consumer';

export const SCENARIOS: Scenario[] = [
	lossless,
	fanout,
	filtered,
	latency,
	idleMemory,
	replay,
	slowConsumer,
	compression,
	churn,
	appBeside,
	hugeLog
];
