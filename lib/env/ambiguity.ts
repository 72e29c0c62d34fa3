/**
 * Lines that python-dotenv and a shell (or compose v2's interpolation) read differently. ferry keeps
 * python-dotenv's reading, which is what the app sees today, and reports each line — never a value.
 */
import type { EnvBinding } from './parse.ts';

/** The reasons `b` reads differently in a shell than in python-dotenv (empty when it does not). */
export function ambiguities(b: EnvBinding): string[] {
  if (b.key === undefined || b.value === undefined) return [];
  const raw = b.rawValue;
  const out: string[] = [];
  if (/\s=|=[^\S\r\n]+\S/u.test(b.head.trimStart() + raw.slice(0, 1))) out.push('blanks around = (a shell cannot read the line)');
  if (b.quote === 'none' && raw.startsWith('#') && /=[^\S\r\n]+$/u.test(b.head)) out.push('`KEY=  # …`: python-dotenv reads the comment as the value, compose v2 and a shell read an empty value');
  if (b.quote === 'single' && raw.includes('${')) out.push('${…} inside single quotes: python-dotenv expands it, a shell keeps it literal');
  if (/\$(?!\{)[A-Za-z_]/u.test(raw)) out.push('$NAME without braces: python-dotenv keeps it literal, a shell and compose v2 expand it');
  if (/\$\{[^}:]*[-=?+][^}]*\}/u.test(raw.replace(/\$\{[^}]*:-[^}]*\}/gu, ''))) out.push('${NAME-…}/${NAME?…} forms: python-dotenv reads them as one unknown name (empty), a shell does not');
  if (/`|\$\(/u.test(raw) && b.quote !== 'single') out.push('` or $( ): a shell runs a command, python-dotenv keeps the text');
  if (b.quote === 'double' && /\\[abfnrtv']/u.test(raw)) out.push('escapes in double quotes: python-dotenv decodes \\n \\t \\\' …, a shell keeps them');
  if (b.quote === 'none' && /\\/u.test(raw)) out.push('backslash in an unquoted value: python-dotenv keeps it, a shell removes it');
  if (b.quote === 'none' && !raw.startsWith('#') && /\S\s+\S/u.test(b.value)) out.push('blanks in an unquoted value: a shell splits the line into words');
  if (b.quote === 'single' && raw.includes("\\'")) out.push("\\' inside single quotes: python-dotenv reads a quote, a shell ends the string");
  return out;
}
