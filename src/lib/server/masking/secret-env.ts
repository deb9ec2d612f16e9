/**
 * @module masking/secret-env
 * Which environment variables hold secrets: names ending in `_TOKEN`, `_SECRET`, `_PASSWORD`,
 * `_KEY` or `_CREDENTIALS` (or being one of those words), plus a configurable list of names
 * and `*` patterns (`ACO_MASK_ENV=DATABASE_URL,*_DSN`). Case does not matter.
 */

export const SECRET_NAME_SUFFIXES = ['TOKEN', 'SECRET', 'PASSWORD', 'KEY', 'CREDENTIALS'] as const;

const BUILT_IN = new RegExp(`(?:^|_)(?:${SECRET_NAME_SUFFIXES.join('|')})$`, 'i');

export type SecretNameTest = (name: string) => boolean;

/**
 * A test for secret variable names; `extra` holds more names or `*` patterns.
 * @example
 * const isSecret = secretNameTest(['DATABASE_URL', '*_DSN']);
 * isSecret('NPM_TOKEN') // true
 * isSecret('SENTRY_DSN') // true
 * isSecret('HOME') // false
 */
export function secretNameTest(extra: readonly string[] = []): SecretNameTest {
	const listed = nameListTest(extra);
	return (name) => BUILT_IN.test(name) || listed(name);
}

/** A test for the names in `list` (names or `*` patterns, any case) and no others. */
export function nameListTest(list: readonly string[]): SecretNameTest {
	const patterns = list
		.map((entry) => entry.trim())
		.filter(Boolean)
		.map((entry) => new RegExp(`^${entry.split('*').map(escapeRegExp).join('.*')}$`, 'i'));
	return (name) => patterns.some((pattern) => pattern.test(name));
}

/** The values of the secret variables in `env` (empty ones left out). */
export function secretValues(
	env: Readonly<Record<string, string | undefined>>,
	isSecret: SecretNameTest
): string[] {
	const values: string[] = [];
	for (const [name, value] of Object.entries(env)) {
		if (value && isSecret(name)) values.push(value);
	}
	return values;
}

/** `ACO_MASK_ENV`'s comma-separated list */
export function parseNameList(raw: string | undefined): string[] {
	return (raw ?? '')
		.split(',')
		.map((name) => name.trim())
		.filter(Boolean);
}

export function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
