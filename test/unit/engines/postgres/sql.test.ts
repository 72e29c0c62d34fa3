import { describe, expect, it } from 'vitest';
import { foreignKeyTables, parsePostData } from '../../../../lib/engines/postgres/post-data.ts';
import { describeRange, rangeWhere, rowHashExpr } from '../../../../lib/engines/postgres/checksum.ts';
import { copyOutSql } from '../../../../lib/engines/postgres/export.ts';
import { stripRestrict } from '../../../../lib/engines/postgres/schema-dump.ts';
import { parsePgUrl, describeConnectError } from '../../../../lib/engines/postgres/connect.ts';
import { chunkFile, MANIFEST_FORMAT, readManifest } from '../../../../lib/engines/postgres/manifest.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TableInfo } from '../../../../lib/engines/postgres/catalog.ts';

const orders: TableInfo = {
  schema: 'public', name: 'orders', bytes: 1 << 30, estRows: 1e6, key: ['id'],
  columns: [
    { name: 'id', type: 'bigint', generated: false, collatable: false },
    { name: 'note', type: 'text', generated: false, collatable: true },
    { name: 'line_count', type: 'integer', generated: true, collatable: false },
  ],
};
const events: TableInfo = {
  schema: 'app', name: "ev'ents", bytes: 0, estRows: 0, key: ['kind', 'at'],
  columns: [{ name: 'kind', type: 'text', generated: false, collatable: true }, { name: 'at', type: 'timestamp with time zone', generated: false, collatable: false }],
};

const POST = `--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

SET default_tablespace = '';

--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY "public"."orders"
    ADD CONSTRAINT "orders_pkey" PRIMARY KEY ("id");


--
-- Name: orders_user_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX "orders_user_idx" ON "public"."orders" USING "btree" ("user_id", "placed_at");


--
-- Name: events_pkey; Type: INDEX; Schema: public; Owner: postgres
--

CREATE UNIQUE INDEX "events_pkey" ON ONLY "public"."my ""events""" USING "btree" ("id");


--
-- Name: orders orders_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY "public"."orders"
    ADD CONSTRAINT "orders_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id");


--
-- PostgreSQL database dump complete
--
`;

describe('postgres SQL builders', () => {
  it('splits post-data into builds per table and links in dump order', () => {
    const p = parsePostData(POST);
    expect(p.header).toBe("SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\nSET default_tablespace = '';");
    expect(p.entries.map((e) => [e.index, e.type, e.phase, e.table])).toEqual([
      [0, 'CONSTRAINT', 'build', '"public"."orders"'],
      [1, 'INDEX', 'build', '"public"."orders"'],
      [2, 'INDEX', 'build', '"public"."my ""events"""'],
      [3, 'FK CONSTRAINT', 'link', null],
    ]);
    expect(p.entries[3]!.sql).toBe('ALTER TABLE ONLY "public"."orders"\n    ADD CONSTRAINT "orders_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id");');
    // The import runs a key between two plain tables in its plan: both tables named, quoted as in the dump.
    expect(foreignKeyTables(p.entries[3]!.sql)).toEqual({ table: '"public"."orders"', references: '"public"."users"' });
    expect(foreignKeyTables('ALTER TABLE "app"."my ""t"""\n    ADD CONSTRAINT "k" FOREIGN KEY ("a", "b") REFERENCES "app"."p""q"("a", "b") ON DELETE CASCADE;'))
      .toEqual({ table: '"app"."my ""t"""', references: '"app"."p""q"' });
    expect(foreignKeyTables('CREATE POLICY "p" ON "public"."orders" USING (true);')).toBeNull();
  });

  it('hashes stored columns only, and compares keys in "C" order with typed literals', () => {
    expect(rowHashExpr(orders)).toBe('hashtextextended(ROW("id", "note")::text, 0)');
    const hashed = { ...orders, rowHash: 'record' as const, columns: orders.columns.map((c) => ({ ...c, hashable: c.name === 'id' })) };
    expect(rowHashExpr(hashed)).toBe('hash_record_extended(ROW("id", "note"::text), 0)');
    expect(rangeWhere(orders, { lo: ['10'], hi: ['20'] })).toBe(`ROW("id") > ROW('10'::bigint) AND ROW("id") <= ROW('20'::bigint)`);
    expect(rangeWhere(orders, { lo: null, hi: null })).toBe('true');
    expect(rangeWhere(events, { lo: ["it's", '2025-01-01 00:00:00+00'], hi: null }))
      .toBe(`ROW("kind" COLLATE "C", "at") > ROW('it''s'::text COLLATE "C", '2025-01-01 00:00:00+00'::timestamp with time zone)`);
    expect(describeRange(orders, { lo: ['10'], hi: null })).toBe('id in (10, +∞]');
    expect(describeRange(events, { lo: null, hi: ['a', 'b'] })).toBe('(kind, at) in (-∞, (a, b)]');
  });

  it('copies a keyed table in key order (the digest is that stream), a keyless one by name, generated columns left out', () => {
    expect(copyOutSql(orders, { lo: null, hi: null })).toBe('COPY (SELECT "id", "note" FROM ONLY "public"."orders" WHERE true ORDER BY "id") TO STDOUT');
    expect(copyOutSql(orders, { lo: ['5'], hi: null })).toBe(`COPY (SELECT "id", "note" FROM ONLY "public"."orders" WHERE ROW("id") > ROW('5'::bigint) ORDER BY "id") TO STDOUT`);
    expect(copyOutSql({ ...events, format: 'binary' }, { lo: null, hi: ['b', '2025-01-01 00:00:00+00'] }))
      .toBe(`COPY (SELECT "kind", "at" FROM ONLY "app"."ev'ents" WHERE ROW("kind" COLLATE "C", "at") <= ROW('b'::text COLLATE "C", '2025-01-01 00:00:00+00'::timestamp with time zone) ORDER BY "kind" COLLATE "C", "at") TO STDOUT (FORMAT binary)`);
    expect(copyOutSql({ ...orders, key: [] }, { lo: null, hi: null })).toBe('COPY "public"."orders" ("id", "note") TO STDOUT');
    expect(chunkFile('app', "ev'ents/x", 3)).toBe('data/app/ev%27ents%2fx.00003.copy');
  });

  it('refuses an export whose chunks carry the old server-side checksums (format 1): export again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-pg-manifest-'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'ferry-postgres/1' }));
    expect(MANIFEST_FORMAT).toBe('ferry-postgres/2');
    await expect(readManifest(dir)).rejects.toMatchObject({ code: 'E_PG_ARTIFACT', message: expect.stringContaining('has format ferry-postgres/1, expected ferry-postgres/2'), hint: 'export again with this version of ferry' });
  });

  it('drops psql-only \\restrict lines from pg_dump output', () => {
    expect(stripRestrict('\\restrict abcDEF123\nSET x = 1;\n\\unrestrict abcDEF123\n')).toBe('\nSET x = 1;\n');
  });

  it('parses URLs and names host:port and user in connect errors, never the password', () => {
    const t = parsePgUrl('postgres://app:s%40cret@db.local:6543/veogen');
    expect(t).toEqual({ host: 'db.local', port: 6543, user: 'app', password: 's@cret', database: 'veogen' });
    const auth = describeConnectError(Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' }), t);
    expect(auth.code).toBe('E_PG_AUTH');
    expect(auth.message).toBe('PostgreSQL at db.local:6543 refused user app (password authentication failed)');
    const down = describeConnectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), t);
    expect(down.code).toBe('E_PG_UNREACHABLE');
    expect(JSON.stringify([auth, down])).not.toContain('s@cret');
    expect(() => parsePgUrl('postgres://u:pw@h:5432/')).toThrow(/names no database/);
    expect(() => parsePgUrl('mysql://u:pw@h/db')).toThrow(/expected postgres:/);
  });
});
