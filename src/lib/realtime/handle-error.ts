/**
 * @module realtime/handle-error
 * The one place a failed action becomes a toast: stores and components call
 * {@link handleError} instead of each inventing their own error display.
 */
import toast from 'svelte-french-toast';
import { ApiError, isAbortError } from '$lib/api';

/** A sentence for the user: the server's message for API errors, the error's own otherwise. */
export function errorMessage(err: unknown): string {
	if (err instanceof ApiError) return err.message;
	if (err instanceof Error && err.message) return err.message;
	return typeof err === 'string' ? err : 'Something went wrong.';
}

/**
 * Shows an error toast (`context` says what was being attempted) and logs the error.
 * Aborted requests (a page going away) are ignored.
 * @example handleError(err, 'Could not start workflow "demo"')
 */
export function handleError(err: unknown, context?: string): void {
	if (isAbortError(err)) return;
	const message = errorMessage(err);
	console.error(context ?? 'aco', err);
	toast.error(context ? `${context}: ${message}` : message, { duration: 6000 });
}

export type ErrorHandler = (err: unknown, context?: string) => void;
