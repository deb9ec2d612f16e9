/**
 * @module bench/lib/report
 * How a benchmark reports: one table per benchmark with the absolute figures of aco and of
 * its baseline from the same run, and the ratio between them, always oriented so that > 1
 * means aco did better (faster, or less memory).
 */

export interface Metric {
	label: string;
	unit: string;
	aco: number;
	baseline: number;
	/** which direction is better; ratios are oriented by it */
	better: 'higher' | 'lower';
	/** decimals shown for the absolute figures */
	digits?: number;
	/** false for figures that are shown side by side but not comparable (different sizes) */
	compare?: boolean;
}

export interface BenchSummary {
	/** the metric the run summary quotes */
	headline: Metric;
	/** further ratios worth quoting in the summary */
	also?: Metric[];
}

export class BenchCheckError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'BenchCheckError';
	}
}

/** Throws a {@link BenchCheckError} unless the condition holds; a bench that measured wrongly fails. */
export function check(condition: unknown, message: string): asserts condition {
	if (!condition) throw new BenchCheckError(message);
}

/** How many times better aco is than the baseline on this metric. */
export function ratioOf(metric: Metric): number {
	return metric.better === 'higher' ? metric.aco / metric.baseline : metric.baseline / metric.aco;
}

export function formatNumber(value: number, digits = 0): string {
	if (!Number.isFinite(value)) return String(value);
	return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(metric: Metric): string {
	if (metric.compare === false) return '—';
	const ratio = ratioOf(metric);
	if (!Number.isFinite(ratio)) return '—';
	return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}×`;
}

function pad(text: string, width: number, right: boolean): string {
	return right ? text.padStart(width) : text.padEnd(width);
}

/** Prints rows as aligned columns: figures right-aligned, the columns in `leftAligned` (labels) left. */
export function printRows(rows: string[][], leftAligned: readonly number[] = [0]): void {
	const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
	for (const row of rows) {
		const cells = row.map((cell, col) => pad(cell, widths[col], !leftAligned.includes(col)));
		console.log(`  ${cells.join('   ')}`.trimEnd());
	}
}

export function printTable(title: string, metrics: Metric[], notes: string[] = []): void {
	console.log(`\n${title}`);
	const rows = [['metric', 'aco', 'baseline', 'ratio']];
	for (const m of metrics) {
		const unit = m.unit ? ` ${m.unit}` : '';
		rows.push([
			m.label,
			formatNumber(m.aco, m.digits) + unit,
			formatNumber(m.baseline, m.digits) + unit,
			formatRatio(m)
		]);
	}
	printRows(rows);
	for (const note of notes) console.log(`  · ${note}`);
}
