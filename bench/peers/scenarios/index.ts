/**
 * @module bench/peers/scenarios
 * The peers suite's scenarios in the order.
 */
import type { Scenario } from '../suite';
import { fanout } from './fanout';

export const SCENARIOS: Scenario[] = [fanout];
