/**
 * @module logview/selection-text
 * The text of a selection inside the log view as the log has it: rows joined by newlines,
 * except where a row continues the one before (a piece of an overlong line), which joins with no
 * newline, as in the download. Gutters (line numbers, timestamps, marks) are left out.
 */

/** The selected text of the log rows under `root`, or null when the selection is elsewhere. */
export function selectedLogText(root: HTMLElement, selection: Selection | null): string | null {
	if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
	const range = selection.getRangeAt(0);
	if (!root.contains(range.commonAncestorContainer)) return null;
	const rows = [...root.querySelectorAll<HTMLElement>('[data-testid="log-line"]')]
		.filter((row) => selection.containsNode(row, true))
		.sort((a, b) => Number(a.dataset.n ?? 0) - Number(b.dataset.n ?? 0) || a.offsetTop - b.offsetTop);
	if (rows.length === 0) return null;
	let text = '';
	rows.forEach((row, i) => {
		const body = row.querySelector('.text');
		if (!body) return;
		const part = document.createRange();
		part.selectNodeContents(body);
		if (range.compareBoundaryPoints(Range.START_TO_START, part) > 0 && body.contains(range.startContainer))
			part.setStart(range.startContainer, range.startOffset);
		if (range.compareBoundaryPoints(Range.END_TO_END, part) < 0 && body.contains(range.endContainer))
			part.setEnd(range.endContainer, range.endOffset);
		if (i > 0 && row.dataset.continuation !== 'true') text += '\n';
		text += part.toString();
	});
	return text;
}
