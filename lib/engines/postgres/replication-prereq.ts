/**
 * Can this source be followed? Read-only facts (wal_level, free slots and WAL senders, the account's
 * REPLICATION / CREATEROLE, tables that UPDATE/DELETE could not be published for, the target's major)
 * and a pure judgement: each blocker says the one change that enables following. A blocked store keeps
 * the copy inside the freeze.
 */
import type pg from 'pg';
import type { EngineFinding } from '../../core/engine.ts';

export interface PgReplicationFacts {
  readonly endpoint: string;
  readonly user: string;
  readonly major: number;
  readonly walLevel: string;
  readonly maxReplicationSlots: number;
  readonly slotsUsed: number;
  readonly maxWalSenders: number;
  readonly walSendersUsed: number;
  readonly superuser: boolean;
  readonly replication: boolean;
  readonly createRole: boolean;
  /** `schema.table` of plain tables with neither a primary key nor a usable REPLICA IDENTITY. */
  readonly withoutIdentity: readonly string[];
  /** `schema.table` of UNLOGGED tables: logical decoding never sees their changes (absent: not read). */
  readonly unlogged?: readonly string[];
}

const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'`;

export async function readReplicationFacts(c: pg.Client, endpoint: string): Promise<PgReplicationFacts> {
  const s = await c.query<Record<string, string | boolean>>(`
    SELECT current_setting('server_version_num') AS num, current_setting('wal_level') AS wal,
      current_setting('max_replication_slots') AS slots, (SELECT count(*) FROM pg_replication_slots)::text AS slots_used,
      current_setting('max_wal_senders') AS senders, (SELECT count(*) FROM pg_stat_replication)::text AS senders_used,
      r.rolsuper AS su, r.rolreplication AS repl, r.rolcreaterole AS cr, current_user AS who
    FROM pg_roles r WHERE r.rolname = current_user`);
  const x = s.rows[0]!;
  const t = await c.query<{ t: string }>(`
    SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_NS} AND c.relkind = 'r'
      AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'))
        OR (c.relreplident = 'i' AND NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))
    ORDER BY 1`);
  const u = await c.query<{ t: string }>(`
    SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_NS} AND c.relkind IN ('r', 'p') AND c.relpersistence = 'u' ORDER BY 1`);
  return {
    endpoint, user: String(x.who), major: Math.floor(Number(x.num) / 10000), walLevel: String(x.wal),
    maxReplicationSlots: Number(x.slots), slotsUsed: Number(x.slots_used), maxWalSenders: Number(x.senders), walSendersUsed: Number(x.senders_used),
    superuser: x.su === true, replication: x.repl === true, createRole: x.cr === true, withoutIdentity: t.rows.map((r) => r.t),
    unlogged: u.rows.map((r) => r.t),
  };
}

const finding = (check: string, subject: string, message: string, hint: string): EngineFinding => ({ severity: 'blocker', check, subject, message, hint });

/**
 * Blockers to following `source` into a server of `targetMajor` (undefined: not known yet). `ownSlot`:
 * ferry's slot already exists (a resumed run), so it needs no free one.
 */
export function assessPgFollow(source: PgReplicationFacts, targetMajor: number | undefined, ownSlot = false): EngineFinding[] {
  const out: EngineFinding[] = [];
  const at = source.endpoint;
  if (source.walLevel !== 'logical') {
    out.push(finding('postgres-follow-wal-level', `server ${at}`, `wal_level is ${source.walLevel}, logical replication needs logical`,
      `set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL once (e.g. \`brew services restart postgresql@${source.major}\`): ferry never restarts it; until then the copy runs inside the freeze`));
  }
  if (source.major < 10) out.push(finding('postgres-follow-major', `server ${at}`, `PostgreSQL ${source.major} has no logical replication`, 'migrate without following (the copy runs inside the freeze)'));
  if (!ownSlot && source.slotsUsed >= source.maxReplicationSlots) {
    out.push(finding('postgres-follow-slots', `server ${at}`, `all ${source.maxReplicationSlots} replication slots are in use`, `raise max_replication_slots (to ${source.slotsUsed + 1} or more) and restart PostgreSQL, or drop an unused slot`));
  }
  if (!ownSlot && source.walSendersUsed >= source.maxWalSenders) {
    out.push(finding('postgres-follow-senders', `server ${at}`, `all ${source.maxWalSenders} WAL senders are in use`, `raise max_wal_senders (to ${source.walSendersUsed + 1} or more) and restart PostgreSQL`));
  }
  if (!source.superuser && !(source.replication && source.createRole)) {
    const missing = [source.replication ? '' : 'REPLICATION', source.createRole ? '' : 'CREATEROLE'].filter(Boolean).join(' ');
    out.push(finding('postgres-follow-privilege', `account ${source.user}@${at}`, `${source.user} lacks ${missing} (needed to create the slot and the replication role)`,
      `as a superuser run: ALTER ROLE "${source.user.replace(/"/g, '""')}" ${missing}; (publishing every table also needs a superuser or the tables' owner)`));
  }
  if (source.withoutIdentity.length) {
    const names = source.withoutIdentity;
    out.push(finding('postgres-follow-identity', `tables ${names.slice(0, 10).join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}`,
      `${names.length} table(s) have neither a primary key nor a REPLICA IDENTITY: once published, UPDATE and DELETE on them would fail on the source`,
      `add a primary key, or run on the source: ${names.slice(0, 3).map((t) => `ALTER TABLE ${t} REPLICA IDENTITY FULL;`).join(' ')}${names.length > 3 ? ' …' : ''}`));
  }
  if (source.unlogged?.length) {
    // The WAL never carries an unlogged table's rows, so no subscription applies the app's writes to it: a
    // follower would be stale there at cutover. The copy inside the freeze carries them (the export reads them).
    const names = source.unlogged;
    out.push(finding('postgres-follow-unlogged', `tables ${names.slice(0, 10).join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}`,
      `${names.length} UNLOGGED table(s): logical replication never carries their changes, so the follower would miss the app's writes to them`,
      `run on the source: ${names.slice(0, 3).map((t) => `ALTER TABLE ${t} SET LOGGED;`).join(' ')}${names.length > 3 ? ' …' : ''} (rewrites each table once), or let the copy run inside the freeze`));
  }
  if (targetMajor !== undefined && targetMajor < 10) out.push(finding('postgres-follow-target', 'target server', `the target is PostgreSQL ${targetMajor}: subscriptions need 10 or later`, 'use a postgres:15 (or newer) image for the stack'));
  return out;
}
