/**
 * @module orchestrator/tool-env
 * The environment tools start from: the server's own, less the server's credentials. A
 * workflow step could otherwise print `ACO_TOKEN` (or a database URL with its password) into a
 * log anyone with read access can download. A step's own `env` is laid over the result as it is:
 * what a workflow file gives a step on purpose, the step gets.
 */
import fs from 'node:fs';
import { plainTokens } from '../auth/tokens';
import { nameListTest, secretNameTest } from '../masking/secret-env';

/**
 * Server variables that are credentials whatever they are called: the token file, and the URLs
 * of the services a cluster node uses (they carry passwords). Besides these, every `ACO_…`
 * variable whose name looks secret (`ACO_TOKEN`, `ACO_SESSION_SECRET`, …) is removed.
 */
export const SERVER_CREDENTIAL_VARIABLES = [
	'ACO_TOKEN',
	'ACO_TOKENS',
	'ACO_TOKENS_FILE',
	'ACO_DATABASE_URL',
	'ACO_POSTGRES_URL',
	'ACO_PG_URL',
	'ACO_REDIS_URL'
] as const;

export interface ToolEnvironment {
	/** what every tool inherits */
	env: Record<string, string>;
	/** names that were removed */
	removed: string[];
	/**
	 * the values of the removed variables that are secrets (file paths are not), and each of
	 * the server's tokens on its own (from ACO_TOKENS and the tokens file too), to mask as well
	 */
	secrets: string[];
}

export interface ToolEnvironmentOptions {
	/** more names or `*` patterns to remove (`ACO_TOOL_ENV_REMOVE`) */
	remove?: readonly string[];
	/** reads `ACO_TOKENS_FILE` for its tokens */
	readFile?: (path: string) => string;
}

/** @example toolEnvironment(process.env).env // process.env without ACO_TOKEN and friends */
export function toolEnvironment(
	env: Readonly<Record<string, string | undefined>>,
	options: ToolEnvironmentOptions = {}
): ToolEnvironment {
	const { remove: extra = [], readFile = (file: string) => fs.readFileSync(file, 'utf8') } = options;
	const listed = nameListTest([...SERVER_CREDENTIAL_VARIABLES, ...extra]);
	const looksSecret = secretNameTest();
	const result: ToolEnvironment = { env: {}, removed: [], secrets: [] };
	for (const [name, value] of Object.entries(env)) {
		if (value === undefined) continue;
		const serverSecret = name.toUpperCase().startsWith('ACO_') && looksSecret(name);
		if (serverSecret || listed(name)) {
			result.removed.push(name);
			if (!name.toUpperCase().endsWith('_FILE')) result.secrets.push(value);
			continue;
		}
		result.env[name] = value;
	}
	result.secrets = [...new Set([...result.secrets, ...plainTokens(env, readFile)])];
	return result;
}
