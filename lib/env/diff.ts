/**
 * A unified diff of two .env texts with every secret shown as `•••`: values of secret variables are
 * masked statement by statement (so multi-line values too), then known secret values and URL
 * passwords anywhere in the text. The transform rewrites statements in place, so its diff pairs
 * statements one to one: linear in the file's size, never a quadratic table.
 */
import { MASK, Redactor } from '../util/redact.ts';
import { bindingText } from './parse.ts';
import type { EnvDocument } from './parse.ts';

export interface DiffOptions {
  /** Label of both sides (`--- a/<file>`, `+++ b/<file>`). */
  readonly file?: string;
  /** Lines of context around each change. */
  readonly context?: number;
  /** True for variables whose value is secret. */
  readonly isSecretKey: (key: string) => boolean;
  /** Secret values to mask wherever they appear. */
  readonly secrets: readonly string[];
}

type Op = { kind: ' ' | '-' | '+'; text: string; a: number; b: number };

const lines = (text: string): string[] => {
  const out = text.split(/\r\n|\n|\r/u);
  if (out.at(-1) === '') out.pop();
  return out;
};

/** Each statement's text with secret values masked, split into lines (line endings dropped). */
export function maskedStatements(doc: EnvDocument, options: Pick<DiffOptions, 'isSecretKey' | 'secrets'>): string[][] {
  const redactor = new Redactor().add(...options.secrets);
  return doc.bindings.map((b) => lines(redactor.redact(
    b.key !== undefined && b.value !== undefined && b.value !== '' && options.isSecretKey(b.key) ? b.head + MASK + b.tail : bindingText(b),
  )));
}

/** Diff operations of two statement lists paired one to one (same length). */
function pairedOps(a: readonly string[][], b: readonly string[][]): Op[] {
  const ops: Op[] = [];
  let ai = 0;
  let bi = 0;
  a.forEach((before, k) => {
    const after = b[k] ?? [];
    if (before.join('\n') === after.join('\n')) for (const text of before) ops.push({ kind: ' ', text, a: ++ai, b: ++bi });
    else {
      for (const text of before) ops.push({ kind: '-', text, a: ++ai, b: bi });
      for (const text of after) ops.push({ kind: '+', text, a: ai, b: ++bi });
    }
  });
  return ops;
}

/** Diff operations of two line lists by longest common subsequence (for small inputs). */
function lcsOps(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const table: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = table[i] as Uint32Array;
    const next = table[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', text: a[i++] as string, a: i, b: ++j });
    else if (i < n && (j >= m || (table[i + 1] as Uint32Array)[j]! >= (table[i] as Uint32Array)[j + 1]!)) ops.push({ kind: '-', text: a[i++] as string, a: i, b: j });
    else ops.push({ kind: '+', text: b[j++] as string, a: i, b: j });
  }
  return ops;
}

function render(ops: readonly Op[], file: string, context: number): string {
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '';
  const out = [`--- a/${file}`, `+++ b/${file}`];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] as number) - context);
    let end = Math.min(ops.length, (changed[k] as number) + context + 1);
    while (k + 1 < changed.length && (changed[k + 1] as number) - context <= end) end = Math.min(ops.length, (changed[++k] as number) + context + 1);
    k++;
    const hunk = ops.slice(start, end);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    const first = ops[start] as Op;
    const aStart = first.kind === '+' ? first.a + (aCount ? 1 : 0) : first.a;
    const bStart = first.kind === '-' ? first.b + (bCount ? 1 : 0) : first.b;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`, ...hunk.map((o) => `${o.kind}${o.text}`));
  }
  return `${out.join('\n')}\n`;
}

/** A unified diff of two line lists; "" when they are equal. Quadratic: meant for short inputs. */
export function unifiedDiff(a: readonly string[], b: readonly string[], file = '.env', context = 3): string {
  return render(lcsOps(a, b), file, context);
}

/** The redacted unified diff between a document and its transform (statements paired in order). */
export function redactedDiff(before: EnvDocument, after: EnvDocument, options: DiffOptions): string {
  const a = maskedStatements(before, options);
  const b = maskedStatements(after, options);
  const ops = a.length === b.length ? pairedOps(a, b) : lcsOps(a.flat(), b.flat());
  return render(ops, options.file ?? '.env', options.context ?? 3);
}
