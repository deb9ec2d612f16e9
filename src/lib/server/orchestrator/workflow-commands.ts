/**
 * @module orchestrator/workflow-commands
 * The workflow-command parser lives in `src/lib/log/workflow-commands.ts`, shared with the
 * browser's log view; the orchestrator keeps importing it from here.
 */
export { parseWorkflowCommand, type WorkflowCommand } from '../../log/workflow-commands';
