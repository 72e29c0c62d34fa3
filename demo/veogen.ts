/**
 * --demo=veogen: the second app (issue 14's VeoGen / Horme POV shape) on throwaway servers — a
 * PostgreSQL 15 source seeded by fixtures/postgres, a Redis source seeded by fixtures/redis, uploads/
 * and outputs/ trees on the host — and a config of four stores that migrates it into a throwaway copy
 * of compose/examples/veogen (its postgres and redis services, its `uploads` and `outputs` volumes).
 * No app service starts: the api image is the operator's, not ferry's.
 */
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { ConfigInput } from '../lib/config/index.ts';
import { seedSecondApp } from '../fixtures/postgres/seed.ts';
import { seedVedfolnirRedis } from '../fixtures/redis/seed.ts';
import { bytesFor } from '../fixtures/files/tree.ts';
import { REPO_VEOGEN_DIR } from './paths.ts';
import { startDemoPostgres, startDemoRedis } from './servers.ts';
import type { DemoImages } from './images.ts';

export const VEOGEN_DATABASE = 'veogen';
/** The compose project's volumes the files stores land in. */
export const VEOGEN_VOLUMES = ['uploads', 'outputs'] as const;

export interface VeogenSources { readonly postgresUrl: string; readonly redisUrl: string; readonly envPorts: { postgres: number; redis: number } }

/** The second app's config: two servers, two volumes (`<project>_uploads`, `<project>_outputs`), no app service. */
export function veogenConfigInput(o: {
  sources: VeogenSources; appDir: string; envFile: string; composeDir: string; stateDir: string; project: string;
  ports: { postgres: number; redis: number }; helperImage: string;
  /** The stack follows the sources by these aliases (`postgres`, `redis`) on the run's network, which `overrideFile` (in composeDir) joins its services to. */
  follow?: { readonly overrideFile: string; readonly aliases: Readonly<Record<string, string>> };
}): ConfigInput {
  const followFrom = (engine: 'postgres' | 'redis', port: number) => {
    const host = o.follow?.aliases[engine];
    return host ? { followFrom: { host, port } } : {};
  };
  const files = (name: (typeof VEOGEN_VOLUMES)[number]) => ({
    id: name, engine: 'files' as const, source: join(o.appDir, name),
    target: { service: 'api', volume: `${o.project}_${name}`, containerPath: `/data/${name}` },
    options: { helperImage: o.helperImage, quietWindowMs: 1000 },
  });
  return {
    stores: [
      { id: 'veogen-db', engine: 'postgres', source: o.sources.postgresUrl, target: { service: 'postgres', migrationPort: o.ports.postgres }, options: { parallelism: 2, ...followFrom('postgres', 5432) } },
      // The stack's redis has no password (it sits on the internal network only).
      { id: 'cache', engine: 'redis', source: o.sources.redisUrl, target: { service: 'redis', migrationPort: o.ports.redis, url: `redis://127.0.0.1:${o.ports.redis}` }, options: { path: 'dump', ...followFrom('redis', 6379) } },
      files('uploads'), files('outputs'),
    ],
    app: { envFile: o.envFile, appServices: [] },
    target: { composeDir: o.composeDir, project: o.project, dataServices: ['postgres', 'redis'], ...(o.follow ? { files: ['docker-compose.yml', o.follow.overrideFile] } : {}) },
    ...(o.follow ? { cutover: { mode: 'auto' as const, budgetSeconds: 60 } } : {}),
    freeze: { quietSeconds: 2 },
    stateDir: o.stateDir,
  };
}

/** The app's host .env: where the api finds its database, cache and directories before the move. */
export function veogenEnv(o: { appDir: string; ports: { postgres: number; redis: number }; redisPassword: string }): string {
  return [
    '# VeoGen on a Mac: Homebrew postgresql@15 and redis, files beside the app',
    `DATABASE_URL=postgres://veogen_app:veogen-app-pw@localhost:${o.ports.postgres}/${VEOGEN_DATABASE}`,
    `REDIS_URL=redis://:${o.redisPassword}@localhost:${o.ports.redis}/0`,
    `UPLOAD_DIR=${join(o.appDir, 'uploads')}`,
    `OUTPUT_DIR=${join(o.appDir, 'outputs')}`,
    '',
  ].join('\n');
}

/** Deterministic uploads (user images) and outputs (rendered clips): `scale` × 40 and × 10 files. */
export async function generateVeogenFiles(appDir: string, scale: number): Promise<{ files: number; bytes: number }> {
  let files = 0, bytes = 0;
  const put = async (rel: string, seed: number, size: number) => {
    await mkdir(join(appDir, rel, '..'), { recursive: true });
    await writeFile(join(appDir, rel), bytesFor(seed, size));
    files++; bytes += size;
  };
  const uploads = Math.max(1, Math.round(scale * 40)), outputs = Math.max(1, Math.round(scale * 10));
  for (let i = 0; i < uploads; i++) await put(`uploads/user-${i % 7}/${String(i).padStart(5, '0')}.jpg`, 7_000 + i, 4096 + ((i * 7919) % 60_000));
  for (let i = 0; i < outputs; i++) await put(`outputs/job-${String(i).padStart(4, '0')}.mp4`, 9_000 + i, 200_000 + ((i * 104_729) % 300_000));
  return { files, bytes };
}

/**
 * A throwaway copy of compose/examples/veogen in `composeDir`: images from `images` in its .env, the
 * stack's secrets (0600) derived from `password`, the api loading app.env (ferry's env step fills it).
 */
export async function copyVeogenStack(o: { composeDir: string; images: Pick<DemoImages, 'postgres' | 'redis'>; password: string }): Promise<void> {
  const { composeDir } = o;
  await cp(REPO_VEOGEN_DIR, composeDir, { recursive: true });
  // docker-compose v1 refuses to merge a file with `version:` and ferry's generated overrides (no version):
  // the copy drops the obsolete key (compose v2 ignores it anyway). The api loads the env ferry writes
  // (app.env), as an operator's stack would: ferry's env override then names it (an override naming no
  // service, `services: {}`, reads as a version 1 file to docker-compose v1, which refuses to merge it).
  const file = join(composeDir, 'docker-compose.yml');
  const text = (await readFile(file, 'utf8')).replace(/^version:.*\n/m, '').replace(/^(  api:\n)/m, '$1    env_file: ["app.env"]\n');
  await writeFile(file, text);
  await writeFile(join(composeDir, 'app.env'), '', { mode: 0o600 }); // compose reads env files at config time; ferry's env step fills it
  await writeFile(join(composeDir, '.env'), `POSTGRES_IMAGE=${o.images.postgres}\nREDIS_IMAGE=${o.images.redis}\n`);
  await mkdir(join(composeDir, 'secrets'), { recursive: true, mode: 0o700 });
  await chmod(join(composeDir, 'secrets'), 0o700);
  await writeFile(join(composeDir, 'secrets', 'postgres_password.txt'), `stack-${o.password}`, { mode: 0o600 });
  await writeFile(join(composeDir, 'secrets', 'database_url.txt'), `postgres://veogen_app@postgres:5432/${VEOGEN_DATABASE}`, { mode: 0o600 });
}

/** Start and seed the second app's sources; write the stack copy (images in its .env, secrets 0600) and the app's .env. */
export async function prepareVeogen(o: {
  base: string; run: string; password: string; images: DemoImages; scale: number; signal: AbortSignal; log: (line: string) => void;
  /** The run's user-defined network: the sources join it under `aliases`, so the stack can follow them by name. */
  network: string;
}): Promise<{ sources: VeogenSources; appDir: string; composeDir: string; aliases: Record<string, string> }> {
  const composeDir = join(o.base, 'compose'), appDir = join(o.base, 'app');
  await copyVeogenStack({ composeDir, images: o.images, password: o.password });
  const aliases = { postgres: 'ferry-demo-src-pg', redis: 'ferry-demo-src-redis' };
  o.log(`demo: starting source PostgreSQL (${o.images.postgres}, wal_level=logical) and Redis (${o.images.redis}) on 127.0.0.1 and on the network ${o.network} (the stack follows them there), labelled ferry.demo=1`);
  const [pgs, rd] = await Promise.all([
    startDemoPostgres({ image: o.images.postgres, password: o.password, database: VEOGEN_DATABASE, run: o.run, signal: o.signal, net: { network: o.network, alias: aliases.postgres } }),
    startDemoRedis({ image: o.images.redis, password: o.password, run: o.run, signal: o.signal, net: { network: o.network, alias: aliases.redis } }),
  ]);
  const sources: VeogenSources = {
    postgresUrl: `postgres://postgres:${o.password}@127.0.0.1:${pgs.port}/${VEOGEN_DATABASE}`,
    redisUrl: `redis://:${o.password}@127.0.0.1:${rd.port}`,
    envPorts: { postgres: pgs.port, redis: rd.port },
  };
  await seedSecondApp(sources.postgresUrl, o.scale);
  // audit_log has no primary key: logical replication needs a replica identity for its updates and deletes.
  // This is the demo's own data; on an operator's server preflight names this one change instead.
  await withPg(sources.postgresUrl, (c) => c.query('ALTER TABLE public.audit_log REPLICA IDENTITY FULL'));
  const r = new Redis({ host: '127.0.0.1', port: rd.port, password: o.password, lazyConnect: true });
  r.on('error', () => undefined); // failures surface through the commands
  await r.connect();
  try { await seedVedfolnirRedis(r, { scale: o.scale, big: false }); } finally { r.disconnect(); }
  const tree = await generateVeogenFiles(appDir, o.scale);
  await writeFile(join(appDir, '.env'), veogenEnv({ appDir, ports: sources.envPorts, redisPassword: o.password }), { mode: 0o600 });
  o.log(`demo: seeded the second app from fixtures/ (scale ${o.scale}; ${tree.files} files under uploads/ and outputs/)`);
  return { sources, appDir, composeDir, aliases };
}

async function withPg<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined); // failures surface through the query
  await c.connect();
  try { return await f(c); } finally { await c.end().catch(() => undefined); }
}
