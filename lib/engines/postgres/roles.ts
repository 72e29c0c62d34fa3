/**
 * The roles a database needs — owners and grantees of its objects, policy roles, default-privilege
 * holders and their memberships — with their attributes and, when ferry reads as a superuser, their
 * SCRAM/MD5 hashes from pg_authid (else carried without a password, and said so). Roles are cluster-wide:
 * import creates the missing ones and leaves existing ones alone. SUPERUSER, REPLICATION and BYPASSRLS
 * are not carried (the target's own superuser administers the stack).
 */
import type pg from 'pg';
import { oneLine, qi, ql } from './connect.ts';

export interface RoleInfo {
  readonly name: string;
  readonly login: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
  readonly inherit: boolean;
  readonly connectionLimit: number;
  /** SCRAM-SHA-256$… or md5…: a secret (artifact only, never logged). Null: unknown or none. */
  readonly passwordHash: string | null;
  readonly memberOf: readonly string[];
  /** Held SUPERUSER / REPLICATION / BYPASSRLS on the source (not carried). */
  readonly dropped: readonly string[];
}

const NEEDED = `
WITH acl AS (
  SELECT relowner AS r, relacl AS a FROM pg_class UNION ALL SELECT nspowner, nspacl FROM pg_namespace
  UNION ALL SELECT proowner, proacl FROM pg_proc UNION ALL SELECT typowner, typacl FROM pg_type
  UNION ALL SELECT lomowner, lomacl FROM pg_largeobject_metadata UNION ALL SELECT defaclrole, defaclacl FROM pg_default_acl
  UNION ALL SELECT datdba, datacl FROM pg_database WHERE datname = current_database()
), ids AS (
  SELECT r AS id FROM acl UNION SELECT (aclexplode(a)).grantee FROM acl WHERE a IS NOT NULL
  UNION SELECT unnest(polroles) FROM pg_policy
)
SELECT rolname FROM pg_roles WHERE oid IN (SELECT id FROM ids) AND rolname !~ '^pg_' ORDER BY 1`;

/** Roles the connected database needs, with memberships among them (and the roles those need). */
export async function readRoles(c: pg.Client, superuser: boolean): Promise<{ roles: RoleInfo[]; hashes: boolean }> {
  const names = new Set((await c.query<{ rolname: string }>(NEEDED)).rows.map((r) => r.rolname));
  const members = await c.query<{ member: string; role: string }>(
    'SELECT pg_get_userbyid(member) AS member, pg_get_userbyid(roleid) AS role FROM pg_auth_members');
  // Close over memberships: a needed role's groups are needed too.
  for (let grew = true; grew;) {
    grew = false;
    for (const m of members.rows) if (names.has(m.member) && !names.has(m.role) && !m.role.startsWith('pg_')) { names.add(m.role); grew = true; }
  }
  const table = superuser ? 'pg_authid' : 'pg_roles';
  const pw = superuser ? 'rolpassword' : 'NULL::text';
  const r = await c.query<{ rolname: string; rolcanlogin: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolinherit: boolean; rolconnlimit: number; pw: string | null; rolsuper: boolean; rolreplication: boolean; rolbypassrls: boolean }>(
    `SELECT rolname, rolcanlogin, rolcreatedb, rolcreaterole, rolinherit, rolconnlimit, ${pw} AS pw, rolsuper, rolreplication, rolbypassrls FROM ${table} WHERE rolname = ANY($1) ORDER BY 1`, [[...names]]);
  return {
    hashes: superuser,
    roles: r.rows.map((x) => ({
      name: x.rolname, login: x.rolcanlogin, createdb: x.rolcreatedb, createrole: x.rolcreaterole, inherit: x.rolinherit,
      connectionLimit: x.rolconnlimit, passwordHash: x.pw,
      memberOf: members.rows.filter((m) => m.member === x.rolname && names.has(m.role)).map((m) => m.role).sort(),
      dropped: [x.rolsuper && 'SUPERUSER', x.rolreplication && 'REPLICATION', x.rolbypassrls && 'BYPASSRLS'].filter((v): v is string => !!v),
    })),
  };
}

/**
 * Create the roles the target lacks (existing ones are left as they are); memberships after. `onCreate`
 * records a role before it is created, so a killed run still knows which roles are ferry's.
 */
export async function applyRoles(c: pg.Client, roles: readonly RoleInfo[], onCreate?: (name: string) => Promise<void>): Promise<string[]> {
  const existing = new Set((await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
  const created: string[] = [];
  for (const r of roles) {
    if (existing.has(r.name)) continue;
    const attrs = [r.login ? 'LOGIN' : 'NOLOGIN', r.createdb ? 'CREATEDB' : 'NOCREATEDB', r.createrole ? 'CREATEROLE' : 'NOCREATEROLE',
      r.inherit ? 'INHERIT' : 'NOINHERIT', `CONNECTION LIMIT ${r.connectionLimit}`, ...(r.passwordHash ? [`PASSWORD ${ql(r.passwordHash)}`] : [])];
    await onCreate?.(r.name);
    await c.query(`CREATE ROLE ${qi(r.name)} ${attrs.join(' ')}`);
    created.push(r.name);
  }
  for (const r of roles) {
    for (const g of r.memberOf) {
      const has = await c.query('SELECT 1 FROM pg_auth_members WHERE member = to_regrole($1) AND roleid = to_regrole($2)', [qi(r.name), qi(g)]);
      if (has.rowCount === 0) await c.query(`GRANT ${qi(g)} TO ${qi(r.name)}`);
    }
  }
  return created;
}

/**
 * Drop roles ferry created (latest first) that nothing uses any more. DROP ROLE itself refuses a role that
 * owns or is granted anything in any database of the cluster (pg_shdepend): such a role is kept and named.
 */
export async function dropCreatedRoles(c: pg.Client, names: readonly string[]): Promise<{ dropped: string[]; kept: Array<{ name: string; why: string }> }> {
  const dropped: string[] = [];
  const kept: Array<{ name: string; why: string }> = [];
  for (const name of [...names].reverse()) {
    if ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 0) continue;
    try {
      await c.query(`DROP ROLE ${qi(name)}`);
      dropped.push(name);
    } catch (e) {
      // 2BP01: objects or privileges in another database depend on it (its detail names them).
      if ((e as { code?: string }).code !== '2BP01') throw e;
      kept.push({ name, why: oneLine(e) + ((e as { detail?: string }).detail ? `: ${(e as { detail: string }).detail.split('\n')[0]}` : '') });
    }
  }
  return { dropped, kept };
}
