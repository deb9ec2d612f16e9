/**
 * @module data-dir
 * The data folder holds every log a tool printed, so it is private to the user aco runs as:
 * the folder 0700, its files 0600. A folder or file found with looser modes is tightened (and
 * reported), so an upgrade from a version that did not care needs nothing by hand.
 */
import fs from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** what a tightening reports: the path and its mode before */
export type Tightened = (path: string, before: number) => void;

/** Creates the folder (and parents) with mode 0700, or takes group and other access off it. */
export function preparePrivateDir(dir: string, onTightened?: Tightened): void {
	fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
	tighten(dir, PRIVATE_DIR_MODE, onTightened);
}

/**
 * Makes `file` private: creates it empty with mode 0600 when `create` and it does not exist,
 * otherwise takes group and other access off it. A missing file is left missing.
 */
export function preparePrivateFile(
	file: string,
	options: { create?: boolean; onTightened?: Tightened } = {}
): void {
	if (options.create) {
		try {
			fs.closeSync(
				fs.openSync(
					file,
					fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY,
					PRIVATE_FILE_MODE
				)
			);
			return;
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
		}
	}
	tighten(file, PRIVATE_FILE_MODE, options.onTightened);
}

function tighten(path: string, mode: number, onTightened?: Tightened): void {
	let stat: fs.Stats;
	try {
		stat = fs.statSync(path);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
		throw err;
	}
	const before = stat.mode & 0o777;
	if ((before & 0o077) === 0) return;
	// chmod is refused on a file of another user; the server still works, so say so and go on
	try {
		fs.chmodSync(path, before & mode);
		onTightened?.(path, before);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
	}
}
