/**
 * @module masking/stream-masker
 * Masks one output stream's lines as they come from a LineSplitter, including the pieces that
 * come without a newline (`partial`: the pieces of an overlong line, `\r` progress snapshots).
 * A secret may straddle two such pieces, so the tail of a piece that could be the beginning of
 * one is held back and shown with the next piece, never half shown. What is held back is at
 * most one character less than the longest masked text.
 *
 * `::add-mask::value` lines (also `::add-mask ::value`, `::add-mask k=v::value`: every form the
 * command parser reads) register their value, and the command's own line reads
 * `::add-mask::***` (also when the value was refused: the set was full). A command line that
 * arrives in pieces is never shown with its value: its pieces read `***` and the value (up to
 * MAX_MASK_LENGTH) is registered when its line ends, as written and as the parser reads it.
 */
import { ADD_MASK_LINE, couldBeAddMaskLine, parseWorkflowCommand } from '../../log/workflow-commands';
import { MAX_MASK_LENGTH } from './mask-forms';
import { MASK, type MaskSet } from './mask-set';

/** a partial piece longer than this is no `::add-mask::` command in the making */
const MAX_COMMAND_START = 1_024;

export interface MaskedPiece {
	text: string;
	partial: boolean;
}

/** what a masker holds between pieces (see StreamMasker.save) */
export interface MaskerState {
	readonly carry: string;
	readonly lineStart: boolean;
	readonly addMaskValue: string | null;
}

/** told about a value announced with `::add-mask::`; `accepted` false when the set was full */
export type OnAddMask = (accepted: boolean) => void;

/**
 * @example
 * const masker = new StreamMasker(masks);
 * splitter = new LineSplitter((line, partial) => {
 *   const piece = masker.push(line, partial);
 *   if (piece) pipeline.push('stdout', piece.text, piece.partial);
 * });
 */
export class StreamMasker {
	#masks: MaskSet;
	#onAddMask: OnAddMask | undefined;
	/** held back from the previous partial piece */
	#carry = '';
	/** the next piece starts a line (the last one had a newline) */
	#lineStart = true;
	/** inside an `::add-mask::` line that is arriving in pieces: its value so far */
	#addMaskValue: string | null = null;

	constructor(masks: MaskSet, onAddMask?: OnAddMask) {
		this.#masks = masks;
		this.#onAddMask = onAddMask;
	}

	/**
	 * What it holds between pieces (a held-back tail, an `::add-mask::` value still arriving), to
	 * put back with {@link restore} when the pieces pushed since were not stored after all.
	 */
	save(): MaskerState {
		return { carry: this.#carry, lineStart: this.#lineStart, addMaskValue: this.#addMaskValue };
	}

	restore(state: MaskerState): void {
		this.#carry = state.carry;
		this.#lineStart = state.lineStart;
		this.#addMaskValue = state.addMaskValue;
	}

	/** The piece to hand on for `text`, masked; null when all of it is held back for now. */
	push(text: string, partial: boolean): MaskedPiece | null {
		if (this.#addMaskValue !== null) return this.#continueAddMask(text, partial);
		const full = this.#carry + text;
		this.#carry = '';
		const lineStart = this.#lineStart;
		this.#lineStart = !partial;
		if (lineStart) {
			const command = ADD_MASK_LINE.exec(full);
			if (command) {
				if (!partial) {
					this.#registerLine(full, command[2]);
					return { text: commandShown(command), partial: false };
				}
				// the value is still coming: show none of it
				this.#addMaskValue = command[2];
				return { text: command[1] + MASK, partial: true };
			}
			if (partial && isCommandStart(full)) {
				this.#carry = full;
				this.#lineStart = true;
				return null;
			}
		}
		if (!partial) return { text: this.#masks.mask(full), partial: false };
		const end = this.#masks.safeEnd(full);
		this.#carry = full.slice(end);
		if (end === 0) {
			this.#lineStart = lineStart;
			return null;
		}
		return { text: this.#masks.mask(full.slice(0, end)), partial: true };
	}

	/** What is still held back, masked, as the stream's last line; null when nothing is. */
	flush(): MaskedPiece | null {
		if (this.#addMaskValue !== null) {
			this.#registerValue(this.#addMaskValue);
			this.#addMaskValue = null;
			this.#lineStart = true;
			return null;
		}
		const rest = this.#carry;
		this.#carry = '';
		this.#lineStart = true;
		if (rest.length === 0) return null;
		const command = ADD_MASK_LINE.exec(rest);
		if (!command) return { text: this.#masks.mask(rest), partial: false };
		this.#registerLine(rest, command[2]);
		return { text: commandShown(command), partial: false };
	}

	#continueAddMask(text: string, partial: boolean): MaskedPiece | null {
		if (this.#addMaskValue!.length < MAX_MASK_LENGTH) this.#addMaskValue += text;
		if (partial) return null;
		this.#registerValue(this.#addMaskValue!);
		this.#addMaskValue = null;
		this.#lineStart = true;
		// the line's end: its pieces so far were shown as `::add-mask::***`
		return { text: '', partial: false };
	}

	/** a whole command line: its value as the command parser reads it (`%0A` escapes undone) and as written */
	#registerLine(line: string, written: string): void {
		const command = parseWorkflowCommand(line);
		if (command?.kind === 'add-mask') this.#register(command.value);
		this.#register(written);
	}

	/**
	 * A value that arrived in pieces, registered as a whole line's would be: the command's params
	 * and leading whitespace do not change what the parser reads of its value.
	 */
	#registerValue(written: string): void {
		this.#registerLine(`::add-mask::${written}`, written);
	}

	#register(value: string): void {
		const trimmed = value.trim();
		if (!trimmed) return;
		const accepted = this.#masks.add(trimmed.slice(0, MAX_MASK_LENGTH));
		this.#onAddMask?.(accepted);
	}
}

/**
 * An `::add-mask::` line as stored and shown: its value as `***`, also when the set refused it
 * (full) or it is too short to mask elsewhere; the value is never shown where it is announced.
 */
function commandShown(command: RegExpExecArray): string {
	return command[2]!.trim() ? command[1] + MASK : command[0];
}

/** `text` could still become an `::add-mask::` line */
function isCommandStart(text: string): boolean {
	return text.length <= MAX_COMMAND_START && couldBeAddMaskLine(text);
}
