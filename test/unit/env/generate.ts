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

const HOSTILE_KEYS = ['APP_NAME', 'LOG_LEVEL', 'CAPTION_PROMPT', 'GREETING', 'NOTE', 'a-b', 'x.y', 'DB_HOST', 'REDIS_HOST', 'SMTP_HOST', 'FLASK_HOST',
  'STORAGE_DIR', 'FLASK_SECRET_KEY', 'PLATFORM_ENCRYPTION_KEY', 'DB_PASSWORD', 'MAIL_PASSWORD', 'WEBHOOK_SECRET', 'API_TOKEN', 'PRIVATE_PEM'];
const HOSTILE_URL_KEYS = ['DATABASE_URL', 'REDIS_URL', 'OLLAMA_URL', 'MAIL_URL', 'BACKUP_URL'];

/**
 * A hostile .env as hand-edited files come: CRLF blocks among LF ones, a BOM, `export`, both
 * quotings with escapes, `#` and `$` in values and passwords, multi-line values, keys without `=`,
 * duplicates, names a shell rejects, references, leading and trailing blanks in quotes.
 */
export function generateHostileEnvFile(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const chars = (alphabet: string, max: number, min = 0) => Array.from({ length: min + Math.floor(rand() * (max - min)) }, () => pick([...alphabet])).join('');
  const SAFE = 'abcXYZ019_-./:@%+,!';
  let eol = '\n';
  const lines: string[] = [];
  const n = 4 + Math.floor(rand() * 16);
  for (let i = 0; i < n; i++) {
    if (rand() < 0.25) eol = pick(['\n', '\r\n']); // CRLF blocks
    const r = rand();
    if (r < 0.08) { lines.push(''); continue; }
    if (r < 0.14) { lines.push(`# ${chars(`${SAFE} #'"=$`, 20)}`); continue; }
    if (r < 0.2) { lines.push(`${pick(['', 'export '])}${pick(HOSTILE_KEYS)}`); continue; } // no `=`: unset
    const isUrl = r < 0.38;
    const key = isUrl ? pick(HOSTILE_URL_KEYS) : pick(HOSTILE_KEYS);
    const head = `${rand() < 0.2 ? 'export ' : ''}${key}${pick(['=', '=', '=', ' = ', '= '])}`;
    let value: string;
    if (isUrl) {
      const password = pick(['', 'pw', 'p%40ss', 'pa$word', 'pa$$w0rd', 'h#sh', "q'uote", 'x${APP_NAME}y', 's3cr3t!']);
      const host = pick(['localhost', '127.0.0.1', '[::1]', '0.0.0.0', 'db.example.org']);
      const scheme = key === 'DATABASE_URL' ? 'mysql+pymysql' : key === 'REDIS_URL' ? 'redis' : key === 'MAIL_URL' ? 'smtp' : 'http';
      const url = `${scheme}://${password ? `u:${password}@` : ''}${host}:${pick(['3306', '6379', '1025', '11434', '8080'])}/${pick(['0', 'app', 'x?a=1#frag'])}`;
      value = /['#$ ]/u.test(url) || rand() < 0.3 ? `"${url.replace(/\\/gu, '\\\\').replace(/"/gu, '\\"')}"` : url;
    } else if (!/^[A-Za-z_][A-Za-z0-9_]*$/u.test(key)) {
      value = `'${pick(['', ' '])}named ${chars(SAFE, 10, 1)}'`; // a name a shell rejects: never holds a secret
    } else if (key === 'PRIVATE_PEM') {
      value = `"-----BEGIN PRIVATE KEY-----${eol}${chars('ABCabc0189+/', 40, 20)}${eol}-----END PRIVATE KEY-----${eol}"`;
    } else {
      value = pick([
        () => chars(`${SAFE}#$`, 18).replace(/^[#'"]+/u, ''), // unquoted, `#` and `$` inside
        () => `${chars(SAFE, 10, 1)} # ${chars(SAFE, 8)}`, // inline comment
        () => `'${chars(`${SAFE} #"$`, 16)}${pick(['', '${APP_NAME}', "\\'x", `${eol}second line`])}'`,
        () => `"${pick(['', ' ', '  lead', 'trail  '])}${chars(`${SAFE} #'$`, 12)}${pick(['', '\\n', '\\t', '\\"', '\\\\z', `${eol}next`, '${LOG_LEVEL}', '$HOME'])}"`,
        () => pick(['/Users/me/vedfolnir/storage/x', 'relative/dir', 'localhost', '127.0.0.1:5000', 'localhost:1025']),
        () => '',
        () => `  # ${chars(SAFE, 6)}`, // `KEY=  # c`: python-dotenv reads "# c"
      ])();
    }
    lines.push(`${head}${value}`);
    if (rand() < 0.1) lines.push(`${head}${chars(SAFE, 8, 1)}`); // an immediate duplicate
  }
  const text = lines.join(eol) + (rand() < 0.8 ? eol : '');
  return rand() < 0.15 ? `\uFEFF${text}` : text;
}
