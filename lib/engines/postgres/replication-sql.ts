/**
 * The statements of PostgreSQL logical replication as ferry uses them, pure (strings in, strings out):
 * the names derived from the store id, the slot created with an exported snapshot (the syntax changed in
 * 15), the publication, the least-privilege replication role, and the subscription on the target.
 */
import { createHash } from 'node:crypto';
import { qi, ql } from './connect.ts';

/** What follow creates, all named after the store: stable across re-runs, so a resume finds them. */
export interface ReplicationNames {
  /** The logical slot on the source (also the subscription's name on the target). */
  readonly slot: string;
  readonly publication: string;
  readonly subscription: string;
  /** The LOGIN REPLICATION role the target connects as. */
  readonly role: string;
}

export function replicationNames(storeId: string): ReplicationNames {
  const h = createHash('sha256').update(storeId).digest('hex').slice(0, 8);
  return { slot: `ferry_${h}`, publication: `ferry_${h}`, subscription: `ferry_${h}`, role: `ferry_repl_${h}` };
}

/**
 * The replication-protocol command that creates the slot and exports its snapshot: PostgreSQL 15 takes
 * options in parentheses, 10–14 the bare `EXPORT_SNAPSHOT` keyword (removed from the docs in 15, still parsed).
 */
export function createSlotCommand(slot: string, major: number): string {
  if (major < 10) throw new TypeError(`Expected a PostgreSQL major ≥ 10 for logical replication, got \`${major}\``);
  return major >= 15 ? `CREATE_REPLICATION_SLOT ${qi(slot)} LOGICAL pgoutput (SNAPSHOT 'export')` : `CREATE_REPLICATION_SLOT ${qi(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`;
}

/** Every table of the database, or (not a superuser) the exported ones by name. */
export function createPublicationStatement(publication: string, tables: readonly string[] | 'all'): string {
  if (tables === 'all') return `CREATE PUBLICATION ${qi(publication)} FOR ALL TABLES`;
  if (tables.length === 0) throw new TypeError('Expected at least one table to publish');
  return `CREATE PUBLICATION ${qi(publication)} FOR TABLE ${tables.join(', ')}`;
}

/** LOGIN REPLICATION and nothing else: copy_data = false, so the subscription reads no table. */
export function createRoleStatement(role: string, password: string): string {
  return `CREATE ROLE ${qi(role)} LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 4 PASSWORD ${ql(password)}`;
}

/** Re-running follow after a kill keeps the role and sets the password on file again. */
export function alterRolePasswordStatement(role: string, password: string): string {
  return `ALTER ROLE ${qi(role)} WITH LOGIN REPLICATION PASSWORD ${ql(password)}`;
}

/** A libpq connection string value, quoted ('…' with \ and ' escaped). */
const cv = (v: string | number): string => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface SubscriptionSource {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

/** The libpq conninfo of the source as the target reaches it (the password is unavoidable here). */
export function conninfo(s: SubscriptionSource): string {
  return `host=${cv(s.host)} port=${cv(s.port)} dbname=${cv(s.database)} user=${cv(s.user)} password=${cv(s.password)} application_name=${cv('ferry follow')}`;
}

/** Start from the slot created before the export: nothing re-copied, nothing missed. */
export function createSubscriptionStatement(n: ReplicationNames, s: SubscriptionSource): string {
  return `CREATE SUBSCRIPTION ${qi(n.subscription)} CONNECTION ${ql(conninfo(s))} PUBLICATION ${qi(n.publication)} `
    + `WITH (create_slot = false, slot_name = ${ql(n.slot)}, copy_data = false, enabled = true)`;
}

/** Detach the subscription from the source's slot before dropping it (so the drop never touches the source). */
export function dropSubscriptionStatements(subscription: string): string[] {
  return [
    `ALTER SUBSCRIPTION ${qi(subscription)} DISABLE`,
    `ALTER SUBSCRIPTION ${qi(subscription)} SET (slot_name = NONE)`,
    `DROP SUBSCRIPTION IF EXISTS ${qi(subscription)}`,
  ];
}

/** setval for a sequence as the source has it (`is_called` false: the next value is `value` itself). */
export function setvalStatement(schema: string, name: string, value: string, isCalled: boolean): string {
  if (!/^-?\d+$/.test(value)) throw new TypeError(`Expected an integer sequence value, got ${JSON.stringify(value)}`);
  return `SELECT setval(${ql(`${qi(schema)}.${qi(name)}`)}, ${value}, ${isCalled ? 'true' : 'false'})`;
}
