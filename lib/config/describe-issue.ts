/** zod issues as operators read them: the field, the offending value (masked when secret), the expected form. */
import type { z } from 'zod';
import { MASK, redactUrlPasswords } from '../util/redact.ts';

const SECRET_FIELD = /(pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential)$/i;

/** `source.mysql.url`, `target.files[2]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '') || '(the config)';
}

/** The value at `path` in `input`, shown safely: secrets masked, URL passwords masked, long values cut. */
export function showValue(input: unknown, path: readonly PropertyKey[]): string {
  let v: unknown = input;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  if (v === undefined) return 'nothing';
  const last = path[path.length - 1];
  if (typeof last === 'string' && SECRET_FIELD.test(last) && typeof v === 'string') return `"${MASK}"`;
  let text = typeof v === 'string' ? JSON.stringify(redactUrlPasswords(v)) : safeJson(v);
  if (text.length > 80) text = `${text.slice(0, 77)}…`;
  return text;
}

export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    return `${fieldPath(issue.path)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; expected only the documented fields (a typo?)`;
  }
  const expected = issue.message.replace(/^Invalid input: /, '');
  return `${fieldPath(issue.path)}: got ${showValue(input, issue.path)}; ${expected}`;
}

function safeJson(v: unknown): string {
  try {
    return redactUrlPasswords(JSON.stringify(v) ?? String(v));
  } catch {
    return String(v);
  }
}
