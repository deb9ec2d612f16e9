/**
 * @module components/clipboard
 * Copies text: the async Clipboard API where the page may use it, else the old
 * select-and-execCommand route (plain http on a LAN address is not a secure context).
 */
export async function copyText(text: string): Promise<void> {
	if (navigator.clipboard && window.isSecureContext) {
		await navigator.clipboard.writeText(text);
		return;
	}
	const area = document.createElement('textarea');
	area.value = text;
	area.setAttribute('readonly', '');
	area.style.position = 'fixed';
	area.style.opacity = '0';
	document.body.appendChild(area);
	area.select();
	try {
		if (!document.execCommand('copy')) throw new Error('The browser refused to copy.');
	} finally {
		area.remove();
	}
}
