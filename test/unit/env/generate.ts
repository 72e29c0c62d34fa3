/**
 * A seeded generator of python-dotenv files covering the constructs ferry must keep: comments,
 * blank lines, `export`, quoting and escapes, multi-line values, `${}` references, CRLF, a BOM, and
 * Vedfolnir-shaped service URLs and secrets.
 */

import { mulberry32 } from '../../../fixtures/prng.ts';

/** The fixtures' seeded PRNG (same seed, same files). */
export const prng = mulberry32;

const KEYS = ['FLASK_ENV', 'LOG_LEVEL', 'APP_NAME', 'DB_NAME', 'DB_HOST', 'DB_PORT', 'REDIS_HOST', 'REDIS_PORT', 'SESSION_TYPE',
  'OLLAMA_MODEL', 'CAPTION_PROMPT', 'FLASK_SECRET_KEY', 'PLATFORM_ENCRYPTION_KEY', 'DB_PASSWORD', 'GITHUB_TOKEN', 'X', 'a_b'];
const URL_KEYS = ['DATABASE_URL', 'REDIS_URL', 'RQ_REDIS_URL', 'SESSION_REDIS_URL', 'OLLAMA_URL', 'CACHE_URL'];
const HOSTS = ['localhost', '127.0.0.1', '[::1]', '0.0.0.0', 'mysql', 'redis', 'db.example.org'];
const WORD = 'abcdefXYZ0123_-./:@%+,';
const ANY = `${WORD} #'"\\$\{\}=\t\n\rüé€`;

export function generateEnvFile(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const chars = (alphabet: string, max: number) => Array.from({ length: Math.floor(rand() * max) }, () => pick([...alphabet])).join('');
  const eol = rand() < 0.3 ? '\r\n' : '\n';
  const comment = () => (rand() < 0.2 ? `${pick([' ', '  ', '\t'])}# ${chars(`${WORD} #`, 12)}` : '');

  const unquoted = () => {
    let v = chars(`${WORD}#`, 16).replace(/^[#'"]+/u, '');
    if (rand() < 0.2) v += `\${${pick(KEYS)}${rand() < 0.5 ? `:-${chars(WORD, 6)}` : ''}}`;
    return v;
  };
  const singleQuoted = () => `'${chars(`${WORD} #"\n`, 20).replace(/\n/g, eol)}${rand() < 0.2 ? "\\'x" : ''}'`;
  const doubleQuoted = () => {
    const body = Array.from({ length: Math.floor(rand() * 10) }, () => pick([chars(`${WORD} #'`, 5), '\\n', '\\"', '\\\\', '\\t', eol, '${LOG_LEVEL}']));
    // An escaped backslash right before the closing quote reads as an escaped quote (python-dotenv too).
    const text = body.join('');
    return `"${text.endsWith('\\\\') ? `${text}z` : text}"`;
  };
  const url = () => {
    const scheme = pick(['mysql+pymysql', 'mysql', 'redis', 'http']);
    const user = pick(['', 'vedfolnir', 'ved%2Bfolnir', 'default']);
    const password = pick(['', 'pw', 'p%40ss', 's3cret!', '${DB_PASSWORD}']);
    const auth = password ? `${user}:${password}@` : user ? `${user}@` : '';
    const port = pick(['', ':3306', ':6379', ':3307', ':11434']);
    return `${scheme}://${auth}${pick(HOSTS)}${port}/${pick(['0', 'vedfolnir?charset=utf8mb4', ''])}`;
  };

  const lines: string[] = [];
  const n = 1 + Math.floor(rand() * 14);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.12) { lines.push(''); continue; }
    if (r < 0.24) { lines.push(`${pick(['', '  '])}# ${chars(`${WORD} #'"=`, 20)}`); continue; }
    const isUrl = r < 0.45;
    const key = isUrl ? pick(URL_KEYS) : pick(KEYS);
    const head = `${pick(['', '', ' '])}${rand() < 0.2 ? 'export ' : ''}${key}${pick(['=', '=', ' = ', '= '])}`;
    const value = isUrl ? (rand() < 0.7 ? url() : `"${url()}"`) : pick([unquoted, singleQuoted, doubleQuoted, () => ''])();
    const tail = value.endsWith('"') || value.endsWith("'") || value === '' ? comment() : (rand() < 0.2 ? ` # ${chars(WORD, 6)}` : '');
    lines.push(`${head}${value}${tail}`);
  }
  const text = lines.join(eol) + (rand() < 0.8 ? eol : '');
  return rand() < 0.1 ? `\uFEFF${text}` : text;
}

/** Random value strings (quotes, backslashes, newlines, `#`, spaces, non-ASCII) for encoding round trips. */
export function generateValue(rand: () => number): string {
  return Array.from({ length: Math.floor(rand() * 24) }, () => ANY[Math.floor(rand() * ANY.length)]).join('');
}
