/**
 * The app's MySQL accounts as its .env names them: the user of every mysql/mariadb URL (SQLAlchemy's
 * `mysql+pymysql://…` included) and of `MYSQL_USER`-style keys, with the password the .env gives it —
 * the same one the stack's secret file holds after the env step, used only when the target lacks the
 * account's plugin. References (`${DB_PASSWORD}`) are resolved within the file.
 */
import { readFile } from 'node:fs/promises';
import { parseEnv, parseUrl, percentDecode, resolveEnv } from '../../env/index.ts';
import type { AppAccount } from './accounts.ts';

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

/** The accounts every readable env file names, each user once (an unreadable file names none, as before the env step). */
export async function readEnvAccounts(files: readonly string[]): Promise<EnvAccount[]> {
  const out: EnvAccount[] = [];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    for (const a of appAccountsFromEnv(text)) if (!out.some((x) => x.user === a.user)) out.push(a);
  }
  return out;
}

/** An account named in the store's options (`accounts`). */
export interface ConfiguredAccount {
  readonly user: string;
  readonly host?: string | undefined;
  /** A file holding its password (the stack's secret file), for a target lacking its plugin. */
  readonly passwordFile?: string | undefined;
}

/** The app accounts to carry: configured ones, then those the .env names. */
export function appAccounts(configured: readonly ConfiguredAccount[], env: readonly EnvAccount[] = []): AppAccount[] {
  const out: AppAccount[] = configured.map((a) => (a.host === undefined ? { user: a.user } : { user: a.user, host: a.host }));
  for (const e of env) if (!out.some((a) => a.user === e.user)) out.push({ user: e.user });
  return out;
}

/** Where a carried account's password comes from: its configured secret file, else the .env that names it. */
export function passwordSource(configured: readonly ConfiguredAccount[], env: readonly EnvAccount[] = []) {
  return async (a: { user: string; host: string }): Promise<string | undefined> => {
    const c = configured.find((x) => x.user === a.user && (x.host === undefined || x.host === a.host) && x.passwordFile);
    if (c?.passwordFile) return (await readFile(c.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    return env.find((e) => e.user === a.user)?.password;
  };
}
