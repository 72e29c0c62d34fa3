/**
 * rollback --with-data for a PostgreSQL store: what the stack holds after the cutover goes back to the
 * host. The forward path reversed: the stack's database is exported (one snapshot, through its migration
 * port or exec tunnel) into `dir`, the host's database is replaced by it (dropped and recreated with its
 * own owner, locale, database grants and settings, then loaded as an import loads the stack), and the
 * host is verified against that export. The migration's own export (the artifact) stays untouched: it is
 * the backup of the host as it was before the migration; what the host held at the rollback is described
 * in `replaced.json` (owner, size, tables, estimated rows). Resumable: a killed run continues the same
 * reverse export's import; a finished reverse, or one begun for another migration's export, starts over.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { FerryError } from '../../core/errors.ts';
import { noProgress, type Progress } from '../../core/progress.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { connectPg, isPrivilegeError, privilegeError, qi, ql, withDatabase, type PgTarget } from './connect.ts';
import { exportPostgres } from './export.ts';
import { importPostgres, type ImportResult } from './import.ts';
import { readManifest } from './manifest.ts';
import { verifyPostgres } from './verify.ts';

export interface ReverseOptions {
  /** The stack's server (the migration's target), read. */
  readonly from: PgTarget;
  /** The host's server (the migration's source), written. */
  readonly to: PgTarget;
  /** Where the reverse's own state lives (`export/`, import.log, replaced.json). */
  readonly stateDir: string;
  /** The forward export this rollback undoes (its manifest's createdAt): another one starts the reverse over. */
  readonly forwardId: string;
  readonly parallelism?: number;
  readonly chunkBytes?: number;
  /** The pg_dump for the stack's server (the store's pgDump option). */
  readonly pgDump?: string;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

/** The host's database as the reverse found it, before replacing it. */
export interface ReplacedDatabase {
  readonly server: string;
  readonly database: string;
  readonly major: number;
  readonly owner: string;
  readonly collate: string;
  readonly ctype: string;
  readonly provider: string;
  readonly icuLocale: string | null;
  readonly bytes: number;
  readonly tables: number;
  /** pg_class.reltuples summed: the planner's estimate, not a count. */
  readonly estimatedRows: number;
  /** Database privileges (null: the default ACL). */
  readonly acl: ReadonlyArray<{ readonly grantee: string | null; readonly privilege: string; readonly grantable: boolean }> | null;
  /** `ALTER DATABASE … SET` (role null) and `ALTER ROLE … IN DATABASE … SET`. */
  readonly settings: ReadonlyArray<{ readonly role: string | null; readonly name: string; readonly value: string }>;
  readonly capturedAt: string;
}

export interface ReverseResult extends ImportResult {
  readonly exportedRows: number;
  readonly tables: number;
  /** Null: the host had no such database. */
  readonly replaced: ReplacedDatabase | null;
  readonly exportDir: string;
}

/** `export`: the reverse export being loaded (a killed run resumes it); `finished`: verified (a new run starts over). */
interface ReverseRecord { readonly forward: string; readonly export?: string; readonly finished?: boolean }

/** What the reverse needs of the host's account, beyond the export's. */
export const REVERSE_GRANT = 'ALTER ROLE {user} CREATEDB CREATEROLE; ALTER DATABASE {db} OWNER TO {user}';

export async function reversePostgres(o: ReverseOptions): Promise<ReverseResult> {
  const progress = o.progress ?? noProgress;
  const dir = join(o.stateDir, 'export');
  const recordPath = join(o.stateDir, 'reverse.json');
  await mkdir(o.stateDir, { recursive: true });
  let record = await readJson<ReverseRecord>(recordPath);
  if (record?.forward !== o.forwardId || record.finished) {
    await rm(o.stateDir, { recursive: true, force: true });
    await mkdir(o.stateDir, { recursive: true });
    record = { forward: o.forwardId };
    await writeFileAtomic(recordPath, JSON.stringify(record));
  }
  const kept = record.export ? await readManifest(dir).catch(() => undefined) : undefined;
  const m = kept?.createdAt === record.export && kept ? kept : await exportPostgres({
    source: o.from, dir, parallelism: o.parallelism ?? 2, ...(o.chunkBytes ? { chunkBytes: o.chunkBytes } : {}), ...(o.pgDump ? { pgDump: o.pgDump } : {}), progress, ...(o.signal ? { signal: o.signal } : {}),
  });
  if (m !== kept) await writeFileAtomic(recordPath, JSON.stringify({ ...record, export: m.createdAt } satisfies ReverseRecord));

  const replacedPath = join(o.stateDir, 'replaced.json');
  let replaced = await readJson<ReplacedDatabase | { none: true }>(replacedPath);
  if (!replaced) {
    replaced = (await describeHostDatabase(o.to)) ?? { none: true };
    await writeFileAtomic(replacedPath, JSON.stringify(replaced, null, 1) + '\n', 0o600);
  }
  const was = 'none' in replaced ? null : replaced;
  await assertCanReplace(o.to, m.roles.names);
  try {
    const r = await importPostgres({
      target: o.to, dir, stateDir: o.stateDir, parallelism: o.parallelism ?? 2, replace: true, progress,
      ...(was ? { createClause: createClause(was) } : {}), ...(o.signal ? { signal: o.signal } : {}),
    });
    if (was) await restoreDatabaseLevel(o.to, was);
    const v = await verifyPostgres({ target: o.to, dir, parallelism: o.parallelism ?? 2, ...(o.signal ? { signal: o.signal } : {}) });
    if (!v.ok) {
      const findings = v.entries.filter((e) => !e.ok).flatMap((e) => (e.findings?.length ? e.findings.map((f) => `${e.subject}: ${f}`) : [`${e.subject} differs`]));
      throw new FerryError('E_PG_VERIFY', `The host's ${o.to.host}:${o.to.port}/${o.to.database} differs from the stack's data after the reverse copy: ${findings[0]}`, {
        hint: `run the rollback again (the copy resumes and is verified again), or restore the migration's export of ${o.to.database}`, detail: findings.join('\n'),
      });
    }
    await writeFileAtomic(recordPath, JSON.stringify({ forward: o.forwardId, export: m.createdAt, finished: true } satisfies ReverseRecord));
    return { ...r, exportedRows: m.totals.rows, tables: m.tables.length, replaced: was, exportDir: dir };
  } catch (e) {
    throw isPrivilegeError(e) ? privilegeError(e, o.to, `replacing ${o.to.database} with the stack's data`, REVERSE_GRANT) : e;
  }
}

/**
 * Refuse before anything is dropped when the host's account could not recreate the database: it must be
 * a superuser, or have CREATEDB and own the database (and CREATEROLE when the stack has roles the host lacks).
 */
async function assertCanReplace(t: PgTarget, roles: readonly string[]): Promise<void> {
  const c = await connectPg(withDatabase(t, 'postgres'), { applicationName: 'ferry reverse' });
  try {
    const r = (await c.query<{ su: boolean; createdb: boolean; createrole: boolean; owns: boolean | null; missing: string[] }>(`
      SELECT rolsuper AS su, rolcreatedb AS createdb, rolcreaterole AS createrole,
        (SELECT pg_has_role(d.datdba, 'MEMBER') FROM pg_database d WHERE d.datname = $1) AS owns,
        ARRAY(SELECT x FROM unnest($2::text[]) x WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = x)) AS missing
      FROM pg_roles WHERE rolname = current_user`, [t.database, [...roles]])).rows[0]!;
    if (r.su) return;
    const lacks = [!r.createdb && 'CREATEDB', r.owns === false && `ownership of ${t.database}`, r.missing.length > 0 && !r.createrole && `CREATEROLE (to create ${r.missing.join(', ')})`]
      .filter((x): x is string => !!x);
    if (lacks.length) {
      throw new FerryError('E_PG_PRIVILEGE', `${t.user} on ${t.host}:${t.port} cannot replace ${t.database} with the stack's data: it lacks ${lacks.join(', ')}; nothing was changed`, {
        hint: `as a superuser run: ${REVERSE_GRANT.replace(/\{user\}/g, qi(t.user)).replace(/\{db\}/g, qi(t.database))}; or give the store's source URL a superuser for the rollback`,
      });
    }
  } finally {
    await c.end();
  }
}

/** One line for the log: what the host's database was before the reverse replaced it. */
export function describeReplaced(r: ReplacedDatabase | null, database: string): string {
  if (!r) return `no database ${database} was there`;
  return `database ${r.database} on ${r.server} (owner ${r.owner}, ${r.tables} tables, about ${r.estimatedRows} rows, ${Math.round(r.bytes / 1048576)} MiB as at ${r.capturedAt})`;
}

async function describeHostDatabase(t: PgTarget): Promise<ReplacedDatabase | undefined> {
  const admin = await connectPg(withDatabase(t, 'postgres'), { applicationName: 'ferry reverse' });
  let d: { oid: number; owner: string; collate: string; ctype: string; provider: string; icu: string | null; bytes: string; num: string } | undefined;
  let acl: ReplacedDatabase['acl'] = null;
  let settings: Array<{ role: string | null; name: string; value: string }> = [];
  try {
    const num = Number((await admin.query<{ n: string }>("SELECT current_setting('server_version_num') AS n")).rows[0]!.n);
    const provider = num >= 150000 ? "CASE d.datlocprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END" : "'libc'";
    const icu = num >= 170000 ? 'd.datlocale' : num >= 150000 ? 'd.daticulocale' : 'NULL::text';
    d = (await admin.query(`SELECT d.oid, pg_get_userbyid(d.datdba) AS owner, d.datcollate AS collate, d.datctype AS ctype, ${provider} AS provider,
      ${icu} AS icu, pg_database_size(d.oid)::text AS bytes, current_setting('server_version_num') AS num FROM pg_database d WHERE d.datname = $1`, [t.database])).rows[0];
    if (!d) return undefined;
    const a = await admin.query<{ grantee: string | null; privilege: string; grantable: boolean; isnull: boolean }>(`
      SELECT CASE WHEN x.grantee = 0 THEN NULL ELSE pg_get_userbyid(x.grantee) END AS grantee, x.privilege_type AS privilege, x.is_grantable AS grantable, d.datacl IS NULL AS isnull
      FROM pg_database d LEFT JOIN LATERAL aclexplode(d.datacl) x ON true WHERE d.oid = $1`, [d.oid]);
    acl = a.rows[0]?.isnull ? null : a.rows.filter((x) => x.privilege).map((x) => ({ grantee: x.grantee, privilege: x.privilege, grantable: x.grantable }));
    const s = await admin.query<{ role: string | null; setconfig: string[] }>(
      'SELECT CASE WHEN setrole = 0 THEN NULL ELSE pg_get_userbyid(setrole) END AS role, setconfig FROM pg_db_role_setting WHERE setdatabase = $1', [d.oid]);
    settings = s.rows.flatMap((x) => x.setconfig.map((kv) => ({ role: x.role, name: kv.slice(0, kv.indexOf('=')), value: kv.slice(kv.indexOf('=') + 1) })));
  } finally {
    await admin.end();
  }
  const c = await connectPg(t, { applicationName: 'ferry reverse' });
  try {
    const n = await c.query<{ tables: string; rows: string }>(`SELECT count(*)::text AS tables, coalesce(sum(greatest(reltuples, 0)), 0)::bigint::text AS rows
      FROM pg_class WHERE relkind = 'r' AND relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema') OR nspname LIKE 'pg_toast%')`);
    return {
      server: `${t.host}:${t.port}`, database: t.database, major: Math.floor(Number(d.num) / 10000), owner: d.owner, collate: d.collate, ctype: d.ctype,
      provider: d.provider, icuLocale: d.icu, bytes: Number(d.bytes), tables: Number(n.rows[0]!.tables), estimatedRows: Number(n.rows[0]!.rows),
      acl, settings, capturedAt: new Date().toISOString(),
    };
  } finally {
    await c.end();
  }
}

/** CREATE DATABASE's clause that gives the recreated database the owner and locale it had. */
export function createClause(r: ReplacedDatabase): string {
  const parts = [`OWNER ${qi(r.owner)}`, `LC_COLLATE ${ql(r.collate)}`, `LC_CTYPE ${ql(r.ctype)}`];
  if (r.major >= 15 && r.provider === 'icu' && r.icuLocale) parts.push('LOCALE_PROVIDER icu', `ICU_LOCALE ${ql(r.icuLocale)}`);
  if (r.major >= 17 && r.provider === 'builtin' && r.icuLocale) parts.push('LOCALE_PROVIDER builtin', `BUILTIN_LOCALE ${ql(r.icuLocale)}`);
  return parts.join(' ');
}

/** Settings whose stored value is already a SQL list (`"$user", public`), not one literal. */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries']);

/** The statements that give the recreated database its grants and settings back (each idempotent). */
export function databaseLevelSql(r: ReplacedDatabase): string[] {
  const db = qi(r.database);
  const out: string[] = [];
  if (r.acl) {
    out.push(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    for (const g of r.acl) out.push(`GRANT ${g.privilege} ON DATABASE ${db} TO ${g.grantee === null ? 'PUBLIC' : qi(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
  }
  for (const s of r.settings) {
    const value = LIST_SETTINGS.has(s.name) ? s.value : ql(s.value);
    out.push(s.role === null ? `ALTER DATABASE ${db} SET ${qi(s.name)} = ${value}` : `ALTER ROLE ${qi(s.role)} IN DATABASE ${db} SET ${qi(s.name)} = ${value}`);
  }
  return out;
}

async function restoreDatabaseLevel(t: PgTarget, r: ReplacedDatabase): Promise<void> {
  const sql = databaseLevelSql(r);
  if (!sql.length) return;
  const c: pg.Client = await connectPg(withDatabase(t, 'postgres'), { applicationName: 'ferry reverse' });
  try {
    for (const q of sql) await c.query(q);
  } finally {
    await c.end();
  }
}

const readJson = <T>(path: string): Promise<T | undefined> => readFile(path, 'utf8').then((x) => JSON.parse(x) as T, () => undefined);
