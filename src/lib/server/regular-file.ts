/**
 * @module regular-file
 * Opens a file for reading only if it is a regular file (a link to one will do), without
 * waiting: opening a FIFO for reading waits for a writer, for ever, holding one of libuv's few
 * file threads. The check is made on the open file, so it cannot be swapped in between.
 */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';

export type OpenedFile = { handle: fs.FileHandle; size: number } | { reason: string };

/** The open file and its size, or why not (the caller closes the handle). */
export async function openRegularFile(file: string): Promise<OpenedFile> {
	let handle: fs.FileHandle;
	try {
		handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
	} catch (err) {
		return { reason: `cannot be read: ${(err as Error).message}` };
	}
	try {
		const stat = await handle.stat();
		if (stat.isFile()) return { handle, size: stat.size };
	} catch (err) {
		await handle.close();
		return { reason: `cannot be read: ${(err as Error).message}` };
	}
	await handle.close();
	return { reason: 'is not a regular file; a workflow must be a file or a link to one' };
}
