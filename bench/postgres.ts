/**
 * PostgreSQL bench: ferry (parallelism 2, in a child process: `ferry` the export streaming into the
 * running target and the import finishing it, as the playbooks run it; `ferry-2pass` the export, then the import) against
 * `pg_dump -Fd -j 2 -Z 0` + `pg_restore -j 2` (the peers at their best on 2 cores: no compression to
 * spend the cores on) and `pg_dump | psql`, copying the second app (fixtures/postgres, `--scale N` →
 * ≈ 8,000 × N rows: scale 250 ≈ 2M) between two PostgreSQL 15 servers of the test bed image. The peers
 * get the app's roles first (`pg_dumpall --roles-only | psql`, timed). Every copy is verified before its
 * time counts: per table `count(*)` and `md5(string_agg(row::text ORDER BY row::text))`, source = target.
 * Also measured: verification — ferry's verify (each chunk's digest recomputed from the target: the sha256
 * of its range's COPY in key order, compared with the export's) against that count + md5 pass over the target.
 * Same end state: ferry leaves every table analyzed (the stack's first queries plan on statistics);
 * pg_restore leaves that to the operator, whose documented next step is ANALYZE (PostgreSQL docs,
 * pg_restore Notes; "Populating a Database: Run ANALYZE Afterwards"). So the pair is reported twice: as
 * it is (`pg_dump-j2`) and with `vacuumdb --analyze-only -j 2` timed after it (`pg_dump-j2+analyze`).
 * Peak RSS is sampled over each tool's process tree (the servers' memory is not counted for anyone).
 * CPU seconds, steadier than wall time on a shared machine: `toolCpuS` (the tool's processes, from bash's
 * `times`), `srcCpuS`/`dstCpuS` (each server's container, cgroup), `cpuSeconds` their sum, `utilization`
 * (sum / wall / 2 cores) and the load average when the copy ended. ferry's line also carries its phases
 * (export and import timings, seconds). ferry's child runs with Node's compile cache (NODE_COMPILE_CACHE
 * in the OS temp dir, as bench/files.ts): once warm, loading its TypeScript modules is not re-paid on
 * every run. FERRY_BENCH_CPU_PROF=<dir> runs ferry's child with
 * `node --cpu-prof` into that directory. pg_dump/pg_restore/psql/vacuumdb are the host's
 * (Debian postgresql-client-15, installed with apt-get when missing and root).
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { BenchOptions, EngineBench, Measurement } from './types.ts';
import { sampleRss } from './rss.ts';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
const { startPostgresContainer } = await import('../test/support/postgres.ts');
const { seedSecondApp } = await import('../fixtures/postgres/seed.ts');

type Server = Awaited<ReturnType<typeof startPostgresContainer>>;
const DB = 'veogen';
const TOOLS = ['ferry', 'ferry-2pass', 'pg_dump-j2', 'dump-pipe', 'ferry-baseline'] as const;
/**
 * A checkout of another ferry (e.g. `git archive <commit> lib | tar -x -C <dir>`, node_modules linked in):
 * its export + import run as the tool `ferry-baseline`, alternating with this one in the same run.
 */
const BASELINE = process.env.FERRY_BENCH_BASELINE;
/** Set to a directory: ferry's bench child runs with `node --cpu-prof --cpu-prof-dir <dir>` (a profile per run). */
const CPU_PROF = process.env.FERRY_BENCH_CPU_PROF;
const root = new URL('..', import.meta.url).pathname;

const dbUrl = (s: Server, db = DB) => `postgres://postgres:${encodeURIComponent(s.password)}@127.0.0.1:${s.port}/${db}`;
const libpq = (s: Server) => ({ PGHOST: '127.0.0.1', PGPORT: String(s.port), PGUSER: 'postgres', PGPASSWORD: s.password });

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return (await c.query<T>(sql)).rows; } finally { await c.end(); }
}

export default (async (opts: BenchOptions, emit: (m: Measurement) => void) => {
  const tools = TOOLS.filter((t) => (!opts.tools || opts.tools.includes(t)) && (t !== 'ferry-baseline' || BASELINE));
  await (await import('./peers.ts')).ensurePeers([{ commands: ['pg_dump', 'pg_restore', 'psql', 'pg_dumpall'], pkg: 'postgresql-client-15' }], 'install it yourself');
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-pg-'));
  const [src, dst] = await Promise.all([startPostgresContainer({ database: DB, password: 'bench-src-pw', healthAtStartOnly: true }), startPostgresContainer({ password: 'bench-dst-pw', healthAtStartOnly: true })]);
  try {
    await seedSecondApp(dbUrl(src), opts.scale);
    await query(dbUrl(src), 'VACUUM ANALYZE');
    const rows = Number((await query<{ n: string }>(dbUrl(src), 'SELECT sum(n_live_tup)::text AS n FROM pg_stat_user_tables'))[0]!.n);
    const expected = (await contentSums(dbUrl(src))).sums;
    for (let rep = 0; rep < opts.repeat; rep++) {
      for (const tool of tools) {
        await resetTarget(dst);
        const dir = join(work, `${tool}-${rep}`);
        const cpu0 = await Promise.all([serverCpu(src), serverCpu(dst)]);
        const t0 = performance.now();
        const { peakRssMb, bytes, toolCpu, phases } = await COPY[tool](src, dst, dir);
        const seconds = (performance.now() - t0) / 1000;
        const cpu1 = await Promise.all([serverCpu(src), serverCpu(dst)]);
        const cpu = cpuFields(toolCpu, cpu0, cpu1, seconds);
        const got = (await contentSums(dbUrl(dst))).sums;
        const differs = Object.keys(expected).filter((k) => expected[k] !== got[k]);
        emit({ engine: 'postgres', tool, phase: 'copy', rows, bytes, seconds: round(seconds), peakRssMb: round(peakRssMb), verified: differs.length === 0, scale: opts.scale, ...cpu, ...(phases ? { phases } : {}), ...(differs.length ? { differs } : {}) });
        if (tool === 'pg_dump-j2') {
          // The same end state ferry delivers: the pair plus the step the PostgreSQL docs prescribe after a
          // restore ("Run ANALYZE afterwards"): vacuumdb --analyze-only -j 2, timed on top of the copy.
          const before = await Promise.all([serverCpu(src), serverCpu(dst)]);
          const a0 = performance.now();
          const a = await timed(`vacuumdb --analyze-only -j 2 -q -d ${DB} -h 127.0.0.1 -p ${dst.port}`, { ...libpq(dst) });
          const aSeconds = (performance.now() - a0) / 1000;
          const after = await Promise.all([serverCpu(src), serverCpu(dst)]);
          // The copy's CPU plus the ANALYZE's (the verification between them is not counted).
          const total = [cpu1[0]! + after[0]! - before[0]!, cpu1[1]! + after[1]! - before[1]!];
          emit({ engine: 'postgres', tool: 'pg_dump-j2+analyze', phase: 'copy', rows, bytes, seconds: round(seconds + aSeconds), peakRssMb: round(Math.max(peakRssMb, a.peakRssMb)), verified: differs.length === 0, scale: opts.scale, ...cpuFields(toolCpu + a.toolCpu, cpu0, total, seconds + aSeconds), analyzeSeconds: round(aSeconds) });
        }
        if (tool === 'ferry' || tool === 'ferry-2pass' || tool === 'ferry-baseline') {
          const v = await ferryVerify(dst, dir);
          emit({ engine: 'postgres', tool, phase: 'verify', rows, bytes, seconds: round(v.seconds), peakRssMb: round(v.peakRssMb), verified: v.ok, scale: opts.scale });
          const m = await contentSums(dbUrl(dst));
          emit({ engine: 'postgres', tool: 'count+md5', phase: 'verify', rows, bytes, seconds: round(m.seconds), peakRssMb: 0, verified: JSON.stringify(m.sums) === JSON.stringify(expected), scale: opts.scale });
        }
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await Promise.all([src.stop(), dst.stop()]);
    await rm(work, { recursive: true, force: true });
  }
}) satisfies EngineBench;

type Copy = (src: Server, dst: Server, dir: string) => Promise<{ peakRssMb: number; bytes: number; toolCpu: number; phases?: Record<string, unknown> }>;

/**
 * CPU seconds (steadier than wall time on a shared machine): the tool's processes, each server's container,
 * their total (`cpuSeconds`), how busy the 2 cores were (`utilization` = total / wall / 2) and the load average.
 */
function cpuFields(toolCpu: number, cpu0: number[], cpu1: number[], seconds: number) {
  const srcCpuS = cpu1[0]! - cpu0[0]!;
  const dstCpuS = cpu1[1]! - cpu0[1]!;
  const total = toolCpu + srcCpuS + dstCpuS;
  return { cpuSeconds: round(total), toolCpuS: round(toolCpu), srcCpuS: round(srcCpuS), dstCpuS: round(dstCpuS), utilization: round(total / seconds / 2), loadAvg: round(loadavg()[0]!) };
}

/**
 * Run a bash script; its peak tree RSS and the CPU seconds (user + sys) of everything it ran, from bash's
 * `times` — with the servers' cgroup CPU (serverCpu) a measure that a loaded machine does not distort.
 */
async function timed(script: string, env: Record<string, string>): Promise<{ stdout: string; peakRssMb: number; toolCpu: number }> {
  const child = execa('bash', ['-o', 'pipefail', '-c', `${script}\ns=$?; times >&2; exit $s`], { cwd: root, env });
  const peak = sampleRss(child);
  const r = await child;
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
  return { stdout: r.stdout, peakRssMb: await peak, toolCpu: secs };
}

/** CPU seconds a server's container has used (cgroup v1 cpuacct or v2 cpu.stat). */
async function serverCpu(s: Server): Promise<number> {
  const id = s.container!.getId();
  const v1 = await readFile(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8').catch(() => undefined);
  if (v1 !== undefined) return Number(v1) / 1e9;
  const v2 = await readFile(`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 'utf8').catch(() => '');
  return Number(/usage_usec (\d+)/.exec(v2)?.[1] ?? 0) / 1e6;
}

const COPY: Record<(typeof TOOLS)[number], Copy> = {
  ferry: (src, dst, dir) => ferryCopy(root, src, dst, dir, 'stream'),
  'ferry-2pass': (src, dst, dir) => ferryCopy(root, src, dst, dir, '2pass'),
  'ferry-baseline': (src, dst, dir) => ferryCopy(BASELINE!, src, dst, dir, '2pass'),
  async 'pg_dump-j2'(src, dst, dir) {
    const script = `pg_dumpall --roles-only --no-role-passwords -h 127.0.0.1 -p ${src.port} | PGPASSWORD="$DST_PW" psql -q -h 127.0.0.1 -p ${dst.port} -d postgres >/dev/null 2>&1;
      pg_dump -Fd -j 2 -Z 0 -f "${dir}" -d ${DB} -h 127.0.0.1 -p ${src.port} &&
      PGPASSWORD="$DST_PW" pg_restore -j 2 --create --exit-on-error -d postgres -h 127.0.0.1 -p ${dst.port} "${dir}"`;
    const r = await timed(script, { ...libpq(src), DST_PW: dst.password });
    const du = await execa('du', ['-sb', dir]);
    return { peakRssMb: r.peakRssMb, toolCpu: r.toolCpu, bytes: Number(du.stdout.split('\t')[0]) };
  },
  async 'dump-pipe'(src, dst) {
    const script = `pg_dumpall --roles-only --no-role-passwords -h 127.0.0.1 -p ${src.port} | PGPASSWORD="$DST_PW" psql -q -h 127.0.0.1 -p ${dst.port} -d postgres >/dev/null 2>&1;
      PGPASSWORD="$DST_PW" psql -q -h 127.0.0.1 -p ${dst.port} -d postgres -c 'CREATE DATABASE ${DB}' &&
      pg_dump -d ${DB} -h 127.0.0.1 -p ${src.port} | PGPASSWORD="$DST_PW" psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p ${dst.port} -d ${DB} >/dev/null`;
    const r = await timed(script, { ...libpq(src), DST_PW: dst.password });
    return { peakRssMb: r.peakRssMb, toolCpu: r.toolCpu, bytes: 0 };
  },
};

/**
 * ferry's copy (parallelism 2) in one child process run in `cwd` (a ferry checkout): `stream` is what the
 * playbook runs now (the export streaming into the running target, stream.ts, then the import finishing
 * what is left), `2pass` the export, then the import.
 */
async function ferryCopy(cwd: string, src: Server, dst: Server, dir: string, how: 'stream' | '2pass'): ReturnType<Copy> {
  const code = how === 'stream'
    ? `import { streamPostgres } from './lib/engines/postgres/stream.ts'; import { importPostgres } from './lib/engines/postgres/import.ts';
    import { parsePgUrl } from './lib/engines/postgres/connect.ts';
    const target = parsePgUrl(process.env.DST_URL);
    const s = await streamPostgres({ source: parsePgUrl(process.env.SRC_URL), target, dir: process.env.DIR + '/artifact', stateDir: process.env.DIR + '/state', parallelism: 2 });
    const m = s.manifest;
    const i = await importPostgres({ target, dir: process.env.DIR + '/artifact', stateDir: process.env.DIR + '/state', parallelism: 2 });
    console.log(JSON.stringify({ bytes: m.totals.bytes, phases: { export: m.timings, streamed: s.streamedChunks, stream: s.timings, import: i.phases } }));`
    : `import { exportPostgres } from './lib/engines/postgres/export.ts'; import { importPostgres } from './lib/engines/postgres/import.ts';
    import { parsePgUrl } from './lib/engines/postgres/connect.ts';
    const m = await exportPostgres({ source: parsePgUrl(process.env.SRC_URL), dir: process.env.DIR + '/artifact', parallelism: 2 });
    const i = await importPostgres({ target: parsePgUrl(process.env.DST_URL), dir: process.env.DIR + '/artifact', stateDir: process.env.DIR + '/state', parallelism: 2 });
    console.log(JSON.stringify({ bytes: m.totals.bytes, phases: { export: m.timings, import: i.phases } }));`;
  const prof = CPU_PROF ? `--cpu-prof --cpu-prof-dir "${CPU_PROF}" ` : '';
  // Node's compile cache (V8 code and the stripped TypeScript), as bench/files.ts uses it: ferry's
  // modules load in ~0.09 CPU-s once warm instead of ~0.23 (the first run warms it).
  const cache = join(tmpdir(), 'ferry-bench-compile-cache');
  const r = await timed(`cd "${cwd}" && "${process.execPath}" ${prof}--input-type=module -e "$CODE"`, { CODE: code, SRC_URL: dbUrl(src), DST_URL: dbUrl(dst), DIR: dir, NODE_COMPILE_CACHE: cache });
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { bytes: number; phases: Record<string, unknown> };
  return { peakRssMb: r.peakRssMb, toolCpu: r.toolCpu, bytes: out.bytes, phases: out.phases };
}

/** ferry's verify of the target against the export, in a child process (its own RSS). */
async function ferryVerify(dst: Server, dir: string): Promise<{ seconds: number; peakRssMb: number; ok: boolean }> {
  const code = `import { verifyPostgres } from './lib/engines/postgres/verify.ts'; import { parsePgUrl } from './lib/engines/postgres/connect.ts';
    const r = await verifyPostgres({ target: parsePgUrl(process.env.DST_URL), dir: process.env.DIR + '/artifact', parallelism: 2 });
    console.log(JSON.stringify({ seconds: r.seconds, ok: r.ok }));`;
  const child = execa(process.execPath, ['--input-type=module', '-e', code], { cwd: root, env: { DST_URL: dbUrl(dst), DIR: dir } });
  const peak = sampleRss(child);
  const r = await child;
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; ok: boolean }), peakRssMb: await peak };
}

/** Per table: count(*) and md5 of the rows' text in a fixed order (the peer verification). */
async function contentSums(url: string): Promise<{ sums: Record<string, string>; seconds: number }> {
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("SET TimeZone = 'UTC'; SET extra_float_digits = 3");
    const tables = (await c.query<{ t: string }>(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' ORDER BY 1`)).rows.map((r) => r.t);
    const sums: Record<string, string> = {};
    for (const t of tables) {
      const r = await c.query<{ n: string; h: string | null }>(`SELECT count(*)::text AS n, md5(string_agg(x::text, E'\\n' ORDER BY x::text)) AS h FROM ONLY ${t} x`);
      sums[t] = `${r.rows[0]!.n}:${r.rows[0]!.h}`;
    }
    return { sums, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await c.end();
  }
}

async function resetTarget(s: Server): Promise<void> {
  await query(dbUrl(s, 'postgres'), `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  const roles = await query<{ r: string }>(dbUrl(s, 'postgres'), "SELECT quote_ident(rolname) AS r FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres'");
  for (const { r } of roles) await query(dbUrl(s, 'postgres'), `DROP ROLE ${r}`);
}

const round = (x: number) => Math.round(x * 100) / 100;
