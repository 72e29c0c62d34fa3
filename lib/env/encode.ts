/**
 * Writing a value back: the binding keeps its head (indentation, `export`, key, `=`) and its tail
 * (inline comment, line ending) and gets a value text that python-dotenv reads back as exactly `value`,
 * in the original quoting when it can carry the value.
 */
import { FerryError } from '../core/errors.ts';
import { parseEnv } from './parse.ts';
import type { EnvBinding } from './parse.ts';

const STYLES = ['none', 'double', 'single'] as const;

function render(value: string, style: EnvBinding['quote']): string {
  if (style === 'none') return value;
  if (style === 'single') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r')}"`;
}

function readsBack(b: EnvBinding, text: string, value: string): EnvBinding | undefined {
  try {
    const doc = parseEnv(b.head + text + b.tail);
    const [only] = doc.bindings;
    return doc.bindings.length === 1 && only?.value === value && only.key === b.key ? only : undefined;
  } catch {
    return undefined;
  }
}

/** The binding with a new value; throws `E_ENV_ENCODE` when no quoting reads back exactly. */
export function withValue(b: EnvBinding, value: string): EnvBinding {
  if (b.value === value) return b;
  const head = b.value === undefined ? `${b.head}=` : b.head;
  const base = { ...b, head };
  for (const style of [b.quote, ...STYLES.filter((s) => s !== b.quote)]) {
    const parsed = readsBack(base, render(value, style), value);
    if (parsed) return { ...parsed, line: b.line };
  }
  throw new FerryError('E_ENV_ENCODE', `cannot write a new value for ${b.key ?? '?'} (line ${b.line}) that python-dotenv reads back unchanged`, {
    hint: 'edit that line by hand, or report the value shape (never the value) as a bug',
  });
}

/** The binding with a new key (its `export` prefix, indentation and comment kept). */
export function withKey(b: EnvBinding, key: string): EnvBinding {
  if (b.key === undefined) throw new TypeError('Expected a binding with a key');
  const at = b.head.lastIndexOf(b.key);
  return { ...b, key, head: b.head.slice(0, at) + key + b.head.slice(at + b.key.length) };
}

/** A comment statement replacing `b` (same leading blank lines and line ending). */
export function commentOut(b: EnvBinding, note: string): EnvBinding {
  const lead = /^\s*/u.exec(b.head)?.[0] ?? '';
  const body = (b.head.slice(lead.length) + b.rawValue).replace(/[\r\n]+/g, ' ');
  const eol = /(\r\n|\n|\r)$/u.exec(b.tail)?.[0] ?? '';
  return { key: undefined, value: undefined, head: lead, rawValue: '', tail: `# ${note}: ${body}${eol}`, line: b.line, quote: 'none' };
}
