/**
 * A python-dotenv parser that keeps every byte: each binding holds the exact text it was read from, so
 * serialising an unchanged document reproduces the file byte for byte (BOM, CRLF, comments, order).
 * The grammar is python-dotenv's (`dotenv/parser.py`), except that an unparseable line is an error
 * with file, line and column instead of a skipped statement. A leading BOM is dropped, as compose v1
 * (`utf-8-sig`) and python-dotenv since #640 do (older releases read it into the first key).
 */
import { FerryError } from '../core/errors.ts';

/** One statement of the file: a `KEY=value` binding, or blank lines / a comment (`key` undefined). */
export interface EnvBinding {
  /** The variable name; undefined for comment and blank-line statements. */
  readonly key: string | undefined;
  /** The decoded value (escapes resolved, `${}` not expanded); undefined for `KEY` without `=`. */
  readonly value: string | undefined;
  /** Leading blank lines and indentation, the `export ` prefix, the key and `=` with its spaces. */
  readonly head: string;
  /** The value exactly as written (quotes included). */
  readonly rawValue: string;
  /** What follows the value: spaces, an inline comment, the line ending. */
  readonly tail: string;
  /** 1-based line of the statement's first non-blank character. */
  readonly line: number;
  /** The quoting the value was written with. */
  readonly quote: 'none' | 'single' | 'double';
}

export interface EnvDocument {
  readonly bom: boolean;
  readonly bindings: readonly EnvBinding[];
}

export interface ParseOptions {
  /** The file name used in error messages. */
  readonly file?: string;
}

const re = (source: string) => new RegExp(source, 'uy');
const MULTILINE_WS = re(String.raw`\s*`);
const WS = re(String.raw`[^\S\r\n]*`);
const EXPORT = re(String.raw`(?:export[^\S\r\n]+)?`);
const SINGLE_QUOTED_KEY = re(String.raw`'([^']+)'`);
const UNQUOTED_KEY = re(String.raw`([^=#\s]+)`);
const EQUAL_SIGN = re(String.raw`(=[^\S\r\n]*)`);
const SINGLE_QUOTED_VALUE = re(String.raw`'((?:\\'|[^'])*)'`);
const DOUBLE_QUOTED_VALUE = re(String.raw`"((?:\\"|[^"])*)"`);
const UNQUOTED_VALUE = re(String.raw`([^\r\n]*)`);
const COMMENT = re(String.raw`(?:[^\S\r\n]*#[^\r\n]*)?`);
const END_OF_LINE = re(String.raw`[^\S\r\n]*(?:\r\n|\n|\r|$)`);

const DOUBLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/** Decode python-dotenv's escapes: `\\ \' \" \a \b \f \n \r \t \v` in double quotes, `\\ \'` in single. */
export function decodeEscapes(body: string, quote: 'single' | 'double'): string {
  const pattern = quote === 'double' ? /\\[\\'"abfnrtv]/gu : /\\[\\']/gu;
  return body.replace(pattern, (m) => DOUBLE_ESCAPES[m[1] as string] ?? m);
}

/** 1-based line and column of offset `at` in `text` (CRLF and lone CR count as one line break). */
export function lineColumn(text: string, at: number): { line: number; column: number } {
  const before = text.slice(0, at);
  const breaks = before.match(/\r\n|\n|\r/g) ?? [];
  const lastBreak = Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r'));
  return { line: breaks.length + 1, column: at - lastBreak };
}

const BREAKS = /\r\n|\n|\r/gu;

class Reader {
  pos = 0;
  /** 1-based line at `pos`, kept incrementally (recounting from the start would be quadratic). */
  line = 1;
  readonly text: string;
  constructor(text: string) { this.text = text; }
  peek(): string { return this.text.charAt(this.pos); }
  read(pattern: RegExp, what: string): string[] {
    pattern.lastIndex = this.pos;
    const m = pattern.exec(this.text);
    if (!m) throw new SyntaxError(what);
    this.advance(this.pos + m[0].length);
    return m.slice(1).map((g) => g ?? '');
  }
  /** Move to `to` (forward or back within the current statement), keeping `line` right. */
  advance(to: number): void {
    const [from, end, sign] = to >= this.pos ? [this.pos, to, 1] : [to, this.pos, -1];
    this.line += sign * (this.text.slice(from, end).match(BREAKS)?.length ?? 0);
    this.pos = to;
  }
}

function parseBinding(r: Reader): EnvBinding {
  const start = r.pos;
  r.read(MULTILINE_WS, 'whitespace');
  const line = r.line;
  if (r.pos >= r.text.length) {
    return { key: undefined, value: undefined, head: r.text.slice(start), rawValue: '', tail: '', line, quote: 'none' };
  }
  r.read(EXPORT, 'export');
  let key: string | undefined;
  if (r.peek() === "'") [key] = r.read(SINGLE_QUOTED_KEY, "a closing ' after the key");
  else if (r.peek() !== '#') [key] = r.read(UNQUOTED_KEY, 'a variable name');
  r.read(WS, 'whitespace');
  let value: string | undefined;
  let quote: EnvBinding['quote'] = 'none';
  let head = r.text.slice(start, r.pos);
  let rawValue = '';
  if (key !== undefined && r.peek() === '=') {
    r.read(EQUAL_SIGN, '=');
    head = r.text.slice(start, r.pos);
    const valueStart = r.pos;
    const c = r.peek();
    if (c === "'" || c === '"') {
      quote = c === "'" ? 'single' : 'double';
      const [body = ''] = r.read(c === "'" ? SINGLE_QUOTED_VALUE : DOUBLE_QUOTED_VALUE, `a closing ${c}`);
      // Python reads the file with universal newlines: a CRLF inside a value is a plain \n.
      value = decodeEscapes(body.replace(/\r\n?/gu, '\n'), quote);
    } else if (c === '' || c === '\n' || c === '\r') {
      // `KEY=  # note` reads as "# note" in python-dotenv (the blanks went with `=`, theskumar/python-dotenv#600).
      value = '';
    } else {
      const [part = ''] = r.read(UNQUOTED_VALUE, 'a value');
      value = part.replace(/\s+#.*/su, '').replace(/\s+$/u, '');
      r.advance(valueStart + value.length);
    }
    rawValue = r.text.slice(valueStart, r.pos);
  }
  const tailStart = r.pos;
  r.read(COMMENT, 'a comment');
  r.read(END_OF_LINE, 'the end of the line (unexpected text after the value)');
  return { key, value, head, rawValue, tail: r.text.slice(tailStart, r.pos), line, quote };
}

/** Parse a python-dotenv file; throws `E_ENV_PARSE` naming file:line:col on the first bad statement. */
export function parseEnv(text: string, options: ParseOptions = {}): EnvDocument {
  const bom = text.startsWith('\uFEFF');
  const r = new Reader(bom ? text.slice(1) : text);
  const bindings: EnvBinding[] = [];
  while (r.pos < r.text.length) {
    try {
      bindings.push(parseBinding(r));
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      // Point at the offending character, not at the blanks before it.
      const { line, column } = lineColumn(r.text, r.pos + (/^[^\S\r\n]*/u.exec(r.text.slice(r.pos, r.pos + 256))?.[0].length ?? 0));
      const file = options.file ?? '.env';
      throw new FerryError('E_ENV_PARSE', `${file}:${line}:${column}: cannot parse the statement: expected ${e.message}`, {
        hint: 'fix the line (python-dotenv would silently skip it); quote values that contain spaces before # or stray quotes',
      });
    }
  }
  return { bom, bindings };
}

/** The exact text of a binding. */
export function bindingText(b: EnvBinding): string {
  return b.head + b.rawValue + b.tail;
}

/** The file text of a document: for a parsed, unchanged document, the input byte for byte. */
export function serializeEnv(doc: EnvDocument): string {
  return (doc.bom ? '\uFEFF' : '') + doc.bindings.map(bindingText).join('');
}
