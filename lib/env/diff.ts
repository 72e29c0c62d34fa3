/**
 * A unified diff from what python-dotenv loads out of the original (one `KEY=value` per variable, in
 * its order) to what the container gets for that variable (its canonical line, `KEY_FILE`, an
 * `environment:` entry, or nothing), with every secret shown as `•••`. Variables pair one to one, so
 * the diff is linear in the file's size.
 */
import { MASK, Redactor } from '../util/redact.ts';
import { isCanonicalValue, yamlQuote } from './canonical.ts';
import { SECRETS_MOUNT } from './rules.ts';

export interface EnvDiffInput {
  /** Label of both sides (`--- a/<file>`, `+++ b/<file>`). */
  readonly file: string;
  /** What python-dotenv loads from the original (undefined: a key without `=`). */
  readonly before: ReadonlyMap<string, string | undefined>;
  readonly after: {
    /** The canonical env file's lines. */
    readonly lines: readonly string[];
    readonly environment: Readonly<Record<string, string>>;
    /** Variable → secret name. */
    readonly secretFiles: Readonly<Record<string, string>>;
  };
  /** Secret values to mask wherever they appear. */
  readonly secrets: readonly string[];
  readonly context?: number;
}

const display = (v: string) => (isCanonicalValue(v) ? v : yamlQuote(v));

type Op = { kind: ' ' | '-' | '+'; text: string; a: number; b: number };

/** Diff operations of paired line groups (one group per variable on each side). */
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

/** The redacted diff of a transform; "" when the container gets exactly what python-dotenv loads. */
export function envDiff(input: EnvDiffInput): string {
  const redactor = new Redactor().add(...input.secrets);
  const canonical = new Map(input.after.lines.map((l) => [l.slice(0, l.indexOf('=')), l] as const));
  const a: string[][] = [];
  const b: string[][] = [];
  for (const [key, value] of input.before) {
    const secret = input.after.secretFiles[key];
    a.push([value === undefined ? key : `${key}=${secret !== undefined && value !== '' ? MASK : redactor.redact(display(value))}`]);
    if (secret !== undefined) b.push([`${key}_FILE=${SECRETS_MOUNT}/${secret}`]);
    else if (Object.hasOwn(input.after.environment, key)) b.push([`${key}=${redactor.redact(yamlQuote(input.after.environment[key] as string))} (compose environment:)`]);
    else b.push(canonical.has(key) ? [redactor.redact(canonical.get(key) as string)] : []);
  }
  return render(pairedOps(a, b), input.file, input.context ?? 3);
}
