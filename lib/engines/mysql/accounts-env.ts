/**
 * The app's MySQL accounts as its .env names them: the user of every mysql/mariadb URL (SQLAlchemy's
 * `mysql+pymysql://…` included) and of `MYSQL_USER`-style keys, with the password the .env gives it —
 * the same one the stack's secret file holds after the env step, used only when the target lacks the
 * account's plugin. References (`${DB_PASSWORD}`) are resolved within the file.
 */
import { parseEnv, parseUrl, percentDecode, resolveEnv } from '../../env/index.ts';

export interface EnvAccount {
  readonly user: string;
  /** The clear-text password, when the .env holds one. */
  readonly password?: string;
  /** The key naming it (for the report). */
  readonly key: string;
}

const SCHEME = /^(mysql|mariadb)(\+[a-z0-9_]+)?$/i;
const USER_KEY = /^(?:[A-Z0-9_]*_)?(MYSQL|MARIADB|DB|DATABASE)_USER(?:NAME)?$/;

/** Accounts named in `.env` text, each user once (the first key naming it wins). */
export function appAccountsFromEnv(text: string): EnvAccount[] {
  const values = resolveEnv(parseEnv(text));
  const out = new Map<string, EnvAccount>();
  const add = (a: EnvAccount) => { if (a.user && !out.has(a.user)) out.set(a.user, a); };
  for (const [key, value] of values) {
    if (value === undefined) continue;
    const u = parseUrl(value);
    if (u && SCHEME.test(u.scheme) && u.user) {
      const password = u.password === undefined ? undefined : percentDecode(u.password);
      add({ user: percentDecode(u.user), key, ...(password !== undefined ? { password } : {}) });
      continue;
    }
    const m = USER_KEY.exec(key);
    if (m) {
      const password = values.get(key.replace(/_USER(NAME)?$/, '_PASSWORD')) ?? values.get(key.replace(/_USER(NAME)?$/, '_PASS'));
      add({ user: value, key, ...(password ? { password } : {}) });
    }
  }
  return [...out.values()];
}
