/**
 * The container env's canonical form, which python-dotenv (compose v1, the app), compose v2's parser
 * and a shell all read the same way: `KEY=value`, LF, no quotes, no `$`, no comment, no edge blanks.
 * A value outside that form goes to the compose override's `environment:`, quoted for YAML there.
 */

/** A name every reader accepts bare (compose v2 and a shell reject `a-b`, python-dotenv accepts it). */
export function isCanonicalKey(key: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/u.test(key);
}

/**
 * True when `KEY=value` reads back as exactly `value` in every reader: no line break, no `$` (compose
 * interpolates), no quote or `#` at the start, no blank before a `#` (an inline comment), no blank at
 * either end (stripped), no backslash (a shell removes it), only printable characters.
 */
export function isCanonicalValue(value: string): boolean {
  if (value === '') return true;
  if (/[\s]$|^[\s]/u.test(value)) return false;
  if (/[$\\`'"]/u.test(value) || value.startsWith('#') || /\s#/u.test(value)) return false;
  // Control characters and the line separators some YAML/JSON readers split on.
  return !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.test(value);
}

/** The canonical line for a pair known to be canonical. */
export const canonicalLine = (key: string, value: string): string => `${key}=${value}`;

/**
 * A YAML double-quoted scalar that PyYAML (compose v1) and Go's yaml (compose v2) read as `text`:
 * JSON escapes, plus `\uXXXX` for the C1 controls and U+2028/9, which YAML would otherwise treat as
 * line breaks or reject.
 */
export function yamlQuote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value for compose's `environment:`: `$` doubled (compose interpolates it), then YAML-quoted. */
export const composeValue = (value: string): string => yamlQuote(value.replace(/\$/gu, '$$$$'));
