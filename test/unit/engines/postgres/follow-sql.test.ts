/** PostgreSQL follow's statements (pure): names per store, the slot command per major, publication, role, subscription. */
import { describe, expect, it } from 'vitest';
import {
  conninfo, createPublicationStatement, createRoleStatement, createSlotCommand, createSubscriptionStatement, dropSubscriptionStatements,
  replicationNames, setvalStatement,
} from '../../../../lib/engines/postgres/replication-sql.ts';
import { fromTarget } from '../../../../lib/engines/postgres/follow.ts';

describe('replicationNames', () => {
  it('derives stable names from the store id, within PostgreSQL\'s 63 characters', () => {
    const n = replicationNames('veogen-db');
    expect(n).toEqual(replicationNames('veogen-db'));
    expect(n.slot).toMatch(/^ferry_[0-9a-f]{8}$/);
    expect(n.publication).toBe(n.slot);
    expect(n.subscription).toBe(n.slot);
    expect(n.role).toBe(`ferry_repl_${n.slot.slice(6)}`);
    expect(replicationNames('other').slot).not.toBe(n.slot);
  });
});

describe('createSlotCommand', () => {
  it('PostgreSQL 15+: options in parentheses', () => {
    expect(createSlotCommand('ferry_0a1b2c3d', 15)).toBe(`CREATE_REPLICATION_SLOT "ferry_0a1b2c3d" LOGICAL pgoutput (SNAPSHOT 'export')`);
    expect(createSlotCommand('ferry_0a1b2c3d', 17)).toContain("(SNAPSHOT 'export')");
  });
  it('PostgreSQL 10–14: the EXPORT_SNAPSHOT keyword', () => {
    expect(createSlotCommand('ferry_0a1b2c3d', 14)).toBe('CREATE_REPLICATION_SLOT "ferry_0a1b2c3d" LOGICAL pgoutput EXPORT_SNAPSHOT');
    expect(createSlotCommand('ferry_0a1b2c3d', 10)).toContain('EXPORT_SNAPSHOT');
  });
  it('refuses a server without logical replication', () => {
    expect(() => createSlotCommand('s', 9)).toThrow('Expected a PostgreSQL major ≥ 10 for logical replication, got `9`');
  });
});

describe('publication and role', () => {
  it('FOR ALL TABLES (superuser) or the named tables', () => {
    expect(createPublicationStatement('ferry_x', 'all')).toBe('CREATE PUBLICATION "ferry_x" FOR ALL TABLES');
    expect(createPublicationStatement('ferry_x', ['public.users', '"Odd"."T"'])).toBe('CREATE PUBLICATION "ferry_x" FOR TABLE public.users, "Odd"."T"');
    expect(() => createPublicationStatement('ferry_x', [])).toThrow('Expected at least one table to publish');
  });
  it('the role may log in and replicate, nothing else; the password is a quoted literal', () => {
    const sql = createRoleStatement('ferry_repl_x', "pw'quote");
    expect(sql).toBe(`CREATE ROLE "ferry_repl_x" LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 4 PASSWORD 'pw''quote'`);
  });
});

describe('subscription', () => {
  const n = replicationNames('pg');
  const source = { host: 'ferry-src-pg', port: 5432, database: 'veo gen', user: n.role, password: "a'b\\c" };
  it('conninfo quotes every value the libpq way', () => {
    expect(conninfo(source)).toBe(`host='ferry-src-pg' port='5432' dbname='veo gen' user='${n.role}' password='a\\'b\\\\c' application_name='ferry follow'`);
  });
  it('starts from the existing slot without copying, the conninfo as a SQL literal', () => {
    const sql = createSubscriptionStatement(n, source);
    expect(sql).toContain(`CREATE SUBSCRIPTION "${n.subscription}" CONNECTION 'host=''ferry-src-pg''`);
    expect(sql).toContain(`password=''a\\''b\\\\c''`);
    expect(sql).toMatch(new RegExp(`PUBLICATION "${n.publication}" WITH \\(create_slot = false, slot_name = '${n.slot}', copy_data = false, enabled = true\\)$`));
  });
  it('is detached from the slot before it is dropped, so the drop never touches the source', () => {
    expect(dropSubscriptionStatements('ferry_x')).toEqual([
      'ALTER SUBSCRIPTION "ferry_x" DISABLE', 'ALTER SUBSCRIPTION "ferry_x" SET (slot_name = NONE)', 'DROP SUBSCRIPTION IF EXISTS "ferry_x"',
    ]);
  });
});

describe('setvalStatement', () => {
  it('sets a sequence as the source has it', () => {
    expect(setvalStatement('public', 'orders_id_seq', '8005', true)).toBe(`SELECT setval('"public"."orders_id_seq"', 8005, true)`);
    expect(setvalStatement('we"ird', 's', '-3', false)).toBe(`SELECT setval('"we""ird"."s"', -3, false)`);
  });
  it('refuses anything but an integer', () => {
    expect(() => setvalStatement('public', 's', '1; DROP TABLE x', true)).toThrow('Expected an integer sequence value');
  });
});

describe('fromTarget', () => {
  const source = { host: '127.0.0.1', port: 5433, user: 'u', password: 'p', database: 'd' };
  it('a loopback source is the Docker host as the stack sees it', () => {
    expect(fromTarget({ source })).toEqual({ host: 'host.docker.internal', port: 5433 });
    expect(fromTarget({ source: { ...source, host: 'localhost' } })).toEqual({ host: 'host.docker.internal', port: 5433 });
  });
  it('followFrom wins; another host is kept', () => {
    expect(fromTarget({ source, from: { host: 'ferry-src-pg', port: 5432 } })).toEqual({ host: 'ferry-src-pg', port: 5432 });
    expect(fromTarget({ source: { ...source, host: 'db.lan' } })).toEqual({ host: 'db.lan', port: 5433 });
  });
});
