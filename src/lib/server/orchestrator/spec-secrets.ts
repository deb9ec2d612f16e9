/**
 * @module orchestrator/spec-secrets
 * A task's definition is stored with the task (the queue) so whichever node claims it can run
 * it; the values of its secret variables are not stored. They stay in the workflow file and are
 * read from it again when a node starts the task, so no database, WAL or backup holds them.
 */
import type { SecretNameTest } from '../masking/secret-env';
import type { StepDef, TaskDef } from './workflow-file';
import { loadWorkflows, type LoadOptions } from './workflow-loader';

/** a step as stored: `secret_env` names the variables whose values were left out */
export interface StoredStep extends StepDef {
	secret_env?: string[];
}

/** a task definition as stored with its task */
export interface StoredTaskDef extends TaskDef {
	/** the workflow the secret values are read from again */
	workflow: string;
	steps: StoredStep[];
}

/** a step ready to run; `unavailable` says why it cannot (its secret is gone from the workflow) */
export interface RunnableStep extends StepDef {
	unavailable?: string;
}

/** The definition to store: secret variables keep their names, not their values. */
export function withoutSecretValues(def: TaskDef, workflow: string, isSecret: SecretNameTest): StoredTaskDef {
	return {
		...def,
		workflow,
		steps: def.steps.map((step) => {
			const names = Object.keys(step.env).filter(isSecret);
			if (names.length === 0) return step;
			const env = Object.fromEntries(Object.entries(step.env).filter(([name]) => !isSecret(name)));
			return { ...step, env, secret_env: names };
		})
	};
}

/**
 * The steps to run, with the secret values read again from the workflow in `workflowsDir`.
 * A secret the workflow no longer defines makes that step unavailable, with a reason a person
 * understands; never a step run without it.
 */
export async function withSecretValues(
	spec: TaskDef | StoredTaskDef,
	workflowsDir: string,
	options: LoadOptions = {}
): Promise<RunnableStep[]> {
	const steps = spec.steps as StoredStep[];
	if (!('workflow' in spec) || !steps.some((step) => step.secret_env?.length)) return steps;
	const { workflows } = await loadWorkflows(workflowsDir, options);
	const current = workflows.find((w) => w.name === spec.workflow)?.tasks.find((t) => t.key === spec.key);
	return steps.map((step, index) => {
		const { secret_env: names = [], ...runnable } = step;
		if (names.length === 0) return runnable;
		const source = current?.steps[index];
		const env = { ...runnable.env };
		for (const name of names) {
			const value = source?.name === step.name ? source.env[name] : undefined;
			if (value === undefined) {
				return {
					...runnable,
					unavailable: `the secret variable ${name} is no longer defined for this step in workflow '${spec.workflow}'; start a new run`
				};
			}
			env[name] = value;
		}
		return { ...runnable, env };
	});
}
