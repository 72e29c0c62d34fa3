/**
 * MySQL bench: ferry against `dump-pipe` (mariadb-dump --single-transaction --quick | mariadb) and
 * `mydumper` (mydumper -t 2, then myloader -t 2), copying the same deterministic Vedfolnir-shaped data
 * (fixtures/mysql, `--scale N` → 2,000 × N rows in `images`, ≈ 4,000 × N rows in all) between the same
 * two servers. Every copy is verified (CHECKSUM TABLE of every table, source = target) before its time
 * counts. Peak RSS is sampled over each tool's process tree (ferry runs in a child process).
 * Also measured: verification (ferry's chunk checksums on both sides vs CHECKSUM TABLE on both sides).
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { BenchOptions, EngineBench, Measurement } from './types.ts';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
const { startMysql } = await import('../test/support/containers.ts');
const { seedVedfolnirMysql } = await import('../fixtures/mysql/seed.ts');
const { verifyMysql } = await import('../lib/engines/mysql/index.ts');

type Server = Awaited<ReturnType<typeof startMysql>>;
const DB = 'vedfolnir';
const TOOLS = ['ferry', 'dump-pipe', 'mydumper'] as const;

export default (async (opts: BenchOptions, emit: (m: Measurement) => void) => {
  const tools = TOOLS.filter((t) => !opts.tools || opts.tools.includes(t));
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-mysql-'));
  const [src, dst] = await Promise.all([startMysql({ database: DB }), startMysql({ database: DB, command: ['--local-infile=1'] })]);
  try {
    const seedConn = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword, database: DB });
    const seeded = await seedVedfolnirMysql(seedConn, { scale: opts.scale, tricky: false });
    await seedConn.end();
    const expected = await checksums(src);
    const cnf = join(work, 'client.cnf');
    await writeFile(cnf, ['client', 'mydumper', 'myloader'].map((g) => `[${g}]\nuser=root\npassword=${src.rootPassword}\nhost=127.0.0.1\n`).join(''), { mode: 0o600 });
    for (let rep = 0; rep < opts.repeat; rep++) {
      for (const tool of tools) {
        await resetTarget(dst);
        const dir = join(work, `${tool}-${rep}`);
        const t0 = performance.now();
        const { peakRssMb, bytes } = await COPY[tool]({ src, dst, dir, cnf });
        const seconds = (performance.now() - t0) / 1000;
        const differs = differing(expected, await checksums(dst));
        const verified = differs.length === 0;
        emit({ engine: 'mysql', tool, phase: 'copy', rows: seeded.rows, bytes, seconds: round(seconds), peakRssMb: round(peakRssMb), verified, scale: opts.scale, ...(verified ? {} : { differs }) });
        if (tool === 'ferry' && verified) {
          const v0 = performance.now();
          const [a, b] = await Promise.all([verifyMysql({ target: endpoint(src), dir }), verifyMysql({ target: endpoint(dst), dir })]);
          emit({ engine: 'mysql', tool: 'ferry', phase: 'verify', rows: seeded.rows, bytes, seconds: round((performance.now() - v0) / 1000), peakRssMb: round(process.memoryUsage().rss / 1048576), verified: a.ok && b.ok, scale: opts.scale });
          const c0 = performance.now();
          const [x, y] = await Promise.all([checksums(src), checksums(dst)]);
          emit({ engine: 'mysql', tool: 'checksum-table', phase: 'verify', rows: seeded.rows, bytes, seconds: round((performance.now() - c0) / 1000), peakRssMb: 0, verified: JSON.stringify(x) === JSON.stringify(y), scale: opts.scale });
        }
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await Promise.all([src.stop(), dst.stop()]);
    await rm(work, { recursive: true, force: true });
  }
}) satisfies EngineBench;

interface CopyArgs { src: Server; dst: Server; dir: string; cnf: string }
type Copy = (a: CopyArgs) => Promise<{ peakRssMb: number; bytes: number }>;

const endpoint = (s: Server) => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });

const COPY: Record<(typeof TOOLS)[number], Copy> = {
  async ferry({ src, dst, dir }) {
    const lib = new URL('../lib/engines/mysql/index.ts', import.meta.url).pathname;
    const code = `import { exportMysql, importMysql } from '${lib}';
      const ep = (port, pw) => ({ host: '127.0.0.1', port, user: 'root', password: pw });
      const m = await exportMysql({ source: ep(${src.port}, process.env.SRC_PW), databases: ['${DB}'], dir: '${dir}', parallelism: 2 });
      await importMysql({ target: ep(${dst.port}, process.env.DST_PW), dir: '${dir}', stateFile: '${dir}.state.json', parallelism: 2 });
      console.log(JSON.stringify({ bytes: m.totals.bytes }));`;
    const child = execa(process.execPath, ['--input-type=module', '-e', code], { env: { SRC_PW: src.rootPassword, DST_PW: dst.rootPassword } });
    const peak = sampleRss(child);
    const r = await child;
    return { peakRssMb: await peak, bytes: (JSON.parse(r.stdout.trim().split('\n').pop()!) as { bytes: number }).bytes };
  },
  async 'dump-pipe'({ src, dst }) {
    const child = execa('bash', ['-o', 'pipefail', '-c',
      `mariadb-dump -h127.0.0.1 -P${src.port} -uroot --single-transaction --quick --routines --triggers --events --max-allowed-packet=256M ${DB} | MYSQL_PWD="$DST_PW" mariadb -h127.0.0.1 -P${dst.port} -uroot --max-allowed-packet=256M ${DB}`],
    { env: { MYSQL_PWD: src.rootPassword, DST_PW: dst.rootPassword } });
    const peak = sampleRss(child);
    await child;
    return { peakRssMb: await peak, bytes: 0 };
  },
  async mydumper({ src, dst, dir, cnf }) {
    const dump = execa('mydumper', [`--defaults-file=${cnf}`, '-P', String(src.port), '-t', '2', '-B', DB, '-G', '-E', '-R', '-o', dir]);
    const p1 = sampleRss(dump);
    await dump;
    const dstCnf = `${cnf}.dst`;
    await writeFile(dstCnf, (await readFile(cnf, 'utf8')).replaceAll(`password=${src.rootPassword}`, `password=${dst.rootPassword}`), { mode: 0o600 });
    const load = execa('myloader', [`--defaults-file=${dstCnf}`, '-P', String(dst.port), '-t', '2', '-d', dir, '-o', '-B', DB]);
    const p2 = sampleRss(load);
    await load;
    let bytes = 0;
    for (const f of await readdir(dir)) bytes += (await readFile(join(dir, f))).length;
    return { peakRssMb: Math.max(await p1, await p2), bytes };
  },
};

/** Peak summed RSS (MB) of a child and its descendants, sampled from /proc every 100 ms until it exits. */
async function sampleRss(child: ResultPromise): Promise<number> {
  let peak = 0;
  let running = true;
  child.finally(() => { running = false; }).catch(() => undefined);
  while (running && child.pid) {
    peak = Math.max(peak, await treeRssKb(child.pid));
    await new Promise((r) => setTimeout(r, 100));
  }
  return peak / 1024;
}

async function treeRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
  let sum = rss;
  for (const k of kids) sum += await treeRssKb(k);
  return sum;
}

async function checksums(s: Server): Promise<unknown> {
  const c = await createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword, database: DB });
  try {
    const [t] = await c.query("SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", [DB]);
    const names = (t as Array<{ n: string }>).map((r) => `\`${r.n}\``);
    const [rows] = await c.query(`CHECKSUM TABLE ${names.join(', ')}`);
    return rows;
  } finally { await c.end(); }
}

function differing(a: unknown, b: unknown): string[] {
  const m = new Map((b as Array<{ Table: string; Checksum: unknown }>).map((r) => [r.Table, String(r.Checksum)]));
  return (a as Array<{ Table: string; Checksum: unknown }>).filter((r) => m.get(r.Table) !== String(r.Checksum)).map((r) => r.Table);
}

async function resetTarget(s: Server): Promise<void> {
  const c = await createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
  try { await c.query(`DROP DATABASE IF EXISTS ${DB}`); await c.query(`CREATE DATABASE ${DB}`); } finally { await c.end(); }
}

const round = (n: number) => Math.round(n * 100) / 100;
