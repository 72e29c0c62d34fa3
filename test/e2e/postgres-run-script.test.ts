/**
 * pg_dump's scripts run again after a kill between their commit and their log line (run-script.ts), on a
 * real PostgreSQL 15 server with the host's pg_dump: a resumed import meets pre-data, and every kind of
 * post-data entry, already applied, and must take "already there" as done — whatever object comes first
 * (an app without schemas or types of its own starts its pre-data with a function: 42723) — while the
 * same script on a fresh import stays fatal.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPg, parsePgUrl, withDatabase } from '../../lib/engines/postgres/connect.ts';
import { parsePostData } from '../../lib/engines/postgres/post-data.ts';
import { runScript } from '../../lib/engines/postgres/run-script.ts';
import { choosePgDump, dumpSection } from '../../lib/engines/postgres/schema-dump.ts';
import { startPostgresContainer, type StartedPostgres } from '../support/postgres.ts';

// A trigger function and no schema or type of its own: pg_dump's pre-data creates the function first.
const APP = `
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;
CREATE TABLE owners (id int PRIMARY KEY);
CREATE TABLE items (id int PRIMARY KEY, name text UNIQUE, updated_at timestamptz, owner int REFERENCES owners(id), CHECK (id > 0));
CREATE INDEX items_lower ON items (lower(name));
COMMENT ON INDEX items_lower IS 'case-insensitive lookups';
ALTER TABLE items CLUSTER ON items_pkey;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_all ON items USING (true);
CREATE RULE owners_keep AS ON DELETE TO owners WHERE old.id = 0 DO INSTEAD NOTHING;
CREATE STATISTICS items_stats ON name, owner FROM items;
CREATE TABLE ev (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE ev_a PARTITION OF ev FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE INDEX ev_at ON ev (at);
CREATE MATERIALIZED VIEW owner_items AS SELECT owner, count(*) AS n FROM items GROUP BY owner;
CREATE UNIQUE INDEX owner_items_owner ON owner_items (owner);
CREATE PUBLICATION items_pub FOR TABLE items;
`;

describe('postgres scripts applied again on a resumed import', { timeout: 300_000 }, () => {
  let server: StartedPostgres;
  beforeAll(async () => {
    server = await startPostgresContainer({ database: 'app', password: 'run-Pw-script' });
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try { await c.query(APP); await c.query('CREATE DATABASE app_copy'); } finally { await c.end(); }
  });
  afterAll(async () => { await server?.stop(); });

  it('pre-data and every post-data entry run twice: "already there" is done when resumed, fatal when not', async () => {
    const source = parsePgUrl(server.url);
    const tool = await choosePgDump(15, source);
    const snapshot = await connectPg(source);
    try {
      await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const id = (await snapshot.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
      const pre = await dumpSection(tool, source, 'pre-data', id);
      const post = parsePostData(await dumpSection(tool, source, 'post-data', id));
      expect(pre.indexOf('CREATE FUNCTION')).toBeGreaterThan(0);
      expect(pre.indexOf('CREATE FUNCTION')).toBeLessThan(pre.indexOf('CREATE TABLE'));
      expect(new Set(post.entries.map((e) => e.type))).toEqual(new Set(['CONSTRAINT', 'FK CONSTRAINT', 'INDEX', 'INDEX ATTACH', 'COMMENT', 'TRIGGER', 'ROW SECURITY', 'POLICY', 'RULE', 'STATISTICS', 'PUBLICATION', 'PUBLICATION TABLE']));

      const target = await connectPg(withDatabase(source, 'app_copy'));
      try {
        await runScript(target, pre, 'pre-data', false);
        // Committed, then killed before the log line: the resumed import finds it applied.
        await runScript(target, pre, 'pre-data', true);
        // A fresh import (not resumed) into a database holding it: fatal, named.
        await expect(runScript(target, pre, 'pre-data', false)).rejects.toMatchObject({ code: 'E_PG_SCHEMA' });
        await target.query(post.header);
        for (const e of post.entries) {
          const what = `post-data entry "${e.name}" (${e.type})`;
          await runScript(target, e.sql, what, false);
          await expect(runScript(target, e.sql, what, true), what).resolves.toBeUndefined();
        }
        const n = await target.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = 'items_touch'");
        expect(n.rows[0]).toEqual({ n: 1 });
      } finally {
        await target.end();
      }
    } finally {
      await snapshot.end();
    }
  });
});
