/**
 * MySQL bench: ferry against `dump-pipe` (mariadb-dump --single-transaction --quick | mariadb),
 * `mydumper` as its users run it on 2 cores (mydumper -t 2 -r 100000 --trx-consistency-only: row-chunked
 * tables, so one table is dumped by both threads; then myloader -t 2) and `server-bound` (the servers' own bulk path: the
 * base tables' DDL by SHOW CREATE TABLE, then `SELECT … INTO OUTFILE` on the source, the files copied
 * between the containers as one tar stream through the Docker API (time counted), `LOAD DATA INFILE`
 * on the target; tables two at a time in each step, largest first; data only, no views, routines or
 * triggers; peak RSS 0, as the work happens in the servers), copying the same deterministic
 * Vedfolnir-shaped data (fixtures/mysql, `--scale N` → 2,000 × N rows in `images`, ≈ 4,000 × N rows in
 * all) between the same two servers. Every copy is verified (CHECKSUM TABLE of every table, source =
 * target) before its time counts. Peak RSS is sampled over each tool's process tree (ferry runs in a
 * child process).
 * Also measured: verification (ferry's verify as the playbook runs it, the frozen source at hand, vs CHECKSUM TABLE on both sides).
 * The target runs with innodb_autoinc_lock_mode=2, MySQL 8's default (the stand-in MariaDB's is 1;
 * FERRY_BENCH_AUTOINC_MODE=1 for it), for every tool.
 * Missing peers (Debian's mariadb-client and mydumper) are installed with apt-get first, and the bench
 * says so; without root it names the packages to install.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { createConnection } from 'mysql2/promise';
import type { BenchOptions, EngineBench, Measurement } from './types.ts';
import { sampleRss } from './rss.ts';
import { ensurePeers } from './peers.ts';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
const { startMysql } = await import('../test/support/containers.ts');
const { seedVedfolnirMysql } = await import('../fixtures/mysql/seed.ts');

type Server = Awaited<ReturnType<typeof startMysql>>;
const DB = 'vedfolnir';
const TOOLS = ['ferry', 'ferry-2pass', 'dump-pipe', 'mydumper', 'server-bound'] as const;

/** The commands each peer needs and the Debian package providing them. */
const PEERS: ReadonlyArray<{ tool: string; commands: string[]; pkg: string }> = [
  { tool: 'dump-pipe', commands: ['mariadb-dump', 'mariadb'], pkg: 'mariadb-client' },
  { tool: 'mydumper', commands: ['mydumper', 'myloader'], pkg: 'mydumper' },
];

export default (async (opts: BenchOptions, emit: (m: Measurement) => void) => {
  const tools = TOOLS.filter((t) => !opts.tools || opts.tools.includes(t));
  await ensurePeers(PEERS.filter((x) => tools.includes(x.tool as (typeof tools)[number])));
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-mysql-'));
  // The target runs with MySQL 8's innodb_autoinc_lock_mode (2, interleaved: LOAD DATA takes no table-level
  // AUTO-INC lock, so two loaders may share a table), for every tool: the stack's server is MySQL 8, the
  // MariaDB 10.11 stand-in defaults to 1. FERRY_BENCH_AUTOINC_MODE=1 measures MariaDB's default.
  const autoincMode = Number(process.env.FERRY_BENCH_AUTOINC_MODE ?? 2);
  const autoinc = [`--innodb-autoinc-lock-mode=${autoincMode}`];
  console.error(`bench: target innodb_autoinc_lock_mode=${autoincMode} (MySQL 8's default is 2, MariaDB's 1), the same for every tool`);
  const [src, dst] = await Promise.all([startMysql({ database: DB, healthAtStartOnly: true }), startMysql({ database: DB, command: ['--local-infile=1', ...autoinc], healthAtStartOnly: true })]);
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
        const cpu0 = await Promise.all([serverCpu(src), serverCpu(dst), proxyCpu([src, dst]), machineCpu()]);
        const t0 = performance.now();
        const { peakRssMb, bytes, toolCpuS, streamS, importS } = await COPY[tool]({ src, dst, dir, cnf });
        const seconds = (performance.now() - t0) / 1000;
        const cpu1 = await Promise.all([serverCpu(src), serverCpu(dst), proxyCpu([src, dst]), machineCpu()]);
        // CPU seconds (a profile that holds on a loaded machine): the tool's own process tree and each server's mysqld;
        // the published ports' docker-proxy (every byte both ways goes through it); what the rest of the machine
        // used meanwhile (peers' tests, kernel threads): the noise a run's seconds carry, near 1-2 s per copy when quiet.
        const [srcCpuS, dstCpuS, proxyCpuS] = [cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu1[2] - cpu0[2]];
        const otherCpuS = cpu1[3] - cpu0[3] - srcCpuS - dstCpuS - proxyCpuS - (toolCpuS ?? 0);
        const cpu = { toolCpuS: round(toolCpuS ?? 0), srcCpuS: round(srcCpuS), dstCpuS: round(dstCpuS), proxyCpuS: round(proxyCpuS), otherCpuS: round(otherCpuS), loadAvg: round(loadavg()[0]!),
          // ferry: the streaming export (with its loads) and the import after it (what was not streamed, foreign keys, objects).
          ...(streamS === undefined ? {} : { streamS, importS }) };
        const differs = differing(expected, await checksums(dst));
        const verified = differs.length === 0;
        emit({ engine: 'mysql', tool, phase: 'copy', rows: seeded.rows, bytes, seconds: round(seconds), peakRssMb: round(peakRssMb), verified, scale: opts.scale, targetAutoincLockMode: autoincMode, ...cpu, ...(verified ? {} : { differs }) });
        if (tool === 'ferry' && verified) {
          const v = await ferryVerify(src, dst, dir);
          emit({ engine: 'mysql', tool: 'ferry', phase: 'verify', rows: seeded.rows, bytes, seconds: round(v.seconds), peakRssMb: round(v.peakRssMb), verified: v.ok, scale: opts.scale });
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
type Copy = (a: CopyArgs) => Promise<{ peakRssMb: number; bytes: number; toolCpuS?: number; streamS?: number; importS?: number }>;

/**
 * ferry's child process with the playbook's Node settings: its compile cache on (playbooks/runtime/compile-cache.ts;
 * here in the OS temp dir, as bench/postgres.ts and bench/files.ts: the first run warms it). FERRY_BENCH_CPU_PROF=<dir>
 * writes the child's V8 CPU profile there.
 */
function ferryChild(code: string, env: Record<string, string>) {
  const prof = process.env.FERRY_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FERRY_BENCH_CPU_PROF}`] : [];
  return execa(process.execPath, [...prof, '--input-type=module', '-e', code], { env: { ...env, NODE_COMPILE_CACHE: join(tmpdir(), 'ferry-bench-compile-cache') } });
}

/** CPU seconds (user + system) a server's mysqld has used so far, from /proc on the host (it is the container's first process). */
async function serverCpu(s: Server): Promise<number> {
  return pidCpu((await execa('docker', ['inspect', '-f', '{{.State.Pid}}', s.container.getId()])).stdout.trim());
}

/** CPU seconds (user + system) process `pid` has used so far (/proc/<pid>/stat). */
async function pidCpu(pid: string): Promise<number> {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds the docker-proxy processes publishing the servers' ports have used so far (0 where Docker runs without its userland proxy). */
async function proxyCpu(servers: readonly Server[]): Promise<number> {
  const r = await execa('pgrep', ['-f', `docker-proxy .*-host-port (${servers.map((s) => s.port).join('|')}) `], { reject: false });
  let sum = 0;
  for (const pid of r.stdout.split('\n').filter(Boolean)) sum += await pidCpu(pid).catch(() => 0); // a proxy gone meanwhile
  return sum;
}

/** CPU seconds the whole machine has spent busy so far (/proc/stat: user, nice, system, irq, softirq, steal). */
async function machineCpu(): Promise<number> {
  const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

/** A command run under bash, its children's CPU seconds read from the `times` builtin (printed last on stderr). */
function timed(script: string, env: Record<string, string>) {
  return execa('bash', ['-o', 'pipefail', '-c', `${script}; rc=$?; times >&2; exit $rc`], { env });
}
const childCpu = (stderr: string): number => {
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stderr.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : 0;
};

const endpoint = (s: Server) => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });

const COPY: Record<(typeof TOOLS)[number], Copy> = {
  /** ferry's streaming copy: chunks load into the target while the export runs (copy.ts), in a child process with the playbook's Node settings; what migrate runs (export:<id> streams, import:<id> loads the rest). */
  async ferry({ src, dst, dir }) {
    const lib = new URL('../lib/engines/mysql/copy.ts', import.meta.url).pathname;
    const code = `import { copyMysql } from '${lib}';
      const ep = (port, pw) => ({ host: '127.0.0.1', port, user: 'root', password: pw });
      const r = await copyMysql({ source: ep(${src.port}, process.env.SRC_PW), target: ep(${dst.port}, process.env.DST_PW), databases: ['${DB}'], dir: '${dir}', stateFile: '${dir}.state.json', parallelism: 2, skipBinlog: true });
      const u = process.cpuUsage();
      console.log(JSON.stringify({ bytes: r.manifest.totals.bytes, streamed: r.streamedChunks, chunks: r.manifest.totals.chunks, cpu: (u.user + u.system) / 1e6, streamS: r.seconds - r.import.seconds, importS: r.import.seconds }));`;
    const child = ferryChild(code, { SRC_PW: src.rootPassword, DST_PW: dst.rootPassword });
    const peak = sampleRss(child);
    const r = await child;
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { bytes: number; cpu: number; streamS: number; importS: number };
    return { peakRssMb: await peak, bytes: out.bytes, toolCpuS: out.cpu, streamS: round(out.streamS), importS: round(out.importS) };
  },
  /** ferry's export, then its import (the playbook's path when the target is not up or already holds the tables: a resumed run). */
  async 'ferry-2pass'({ src, dst, dir }) {
    const lib = new URL('../lib/engines/mysql/index.ts', import.meta.url).pathname;
    const code = `import { exportMysql, importMysql } from '${lib}';
      const ep = (port, pw) => ({ host: '127.0.0.1', port, user: 'root', password: pw });
      const m = await exportMysql({ source: ep(${src.port}, process.env.SRC_PW), databases: ['${DB}'], dir: '${dir}', parallelism: 2 });
      await importMysql({ target: ep(${dst.port}, process.env.DST_PW), dir: '${dir}', stateFile: '${dir}.state.json', parallelism: 2, skipBinlog: true });
      const u = process.cpuUsage();
      console.log(JSON.stringify({ bytes: m.totals.bytes, cpu: (u.user + u.system) / 1e6 }));`;
    const child = ferryChild(code, { SRC_PW: src.rootPassword, DST_PW: dst.rootPassword });
    const peak = sampleRss(child);
    const r = await child;
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { bytes: number; cpu: number };
    return { peakRssMb: await peak, bytes: out.bytes, toolCpuS: out.cpu };
  },
  async 'dump-pipe'({ src, dst }) {
    const child = timed(`mariadb-dump -h127.0.0.1 -P${src.port} -uroot --single-transaction --quick --routines --triggers --events --max-allowed-packet=256M ${DB} | MYSQL_PWD="$DST_PW" mariadb -h127.0.0.1 -P${dst.port} -uroot --max-allowed-packet=256M ${DB}`,
      { MYSQL_PWD: src.rootPassword, DST_PW: dst.rootPassword });
    const peak = sampleRss(child);
    const r = await child;
    return { peakRssMb: await peak, bytes: 0, toolCpuS: childCpu(r.stderr) };
  },
  async mydumper({ src, dst, dir, cnf }) {
    // Row chunks of 100,000 (-r) so both threads share a big table; one consistent snapshot across the
    // threads without holding FTWRL for the whole dump (--trx-consistency-only): how mydumper is run.
    // Debian's mydumper 0.10.0 has no --innodb-optimize-keys nor myloader row splitting (--rows, 0.11+):
    // -t 2 on both sides with -r is its best here.
    const dump = timed(`mydumper --defaults-file=${cnf} -P ${src.port} -t 2 -r 100000 --trx-consistency-only -B ${DB} -G -E -R -o ${dir}`, {});
    const p1 = sampleRss(dump);
    const d1 = await dump;
    const dstCnf = `${cnf}.dst`;
    await writeFile(dstCnf, (await readFile(cnf, 'utf8')).replaceAll(`password=${src.rootPassword}`, `password=${dst.rootPassword}`), { mode: 0o600 });
    const load = timed(`myloader --defaults-file=${dstCnf} -P ${dst.port} -t 2 -d ${dir} -o -B ${DB}`, {});
    const p2 = sampleRss(load);
    const d2 = await load;
    let bytes = 0;
    for (const f of await readdir(dir)) bytes += (await readFile(join(dir, f))).length;
    return { peakRssMb: Math.max(await p1, await p2), bytes, toolCpuS: childCpu(d1.stderr) + childCpu(d2.stderr) };
  },
  /**
   * The server-side bound: DDL by SHOW CREATE TABLE; then every table's stored (non-generated) columns
   * `SELECT … INTO OUTFILE` (default FIELDS/LINES) into a directory inside the source container (under
   * @@secure_file_priv when set, else /tmp), that directory copied to the target container as one tar
   * stream, and `LOAD DATA INFILE` from there. Dump and load run two tables at a time, largest first.
   * `CHARACTER SET binary` on both ends: OUTFILE writes the columns' bytes unconverted, and LOAD DATA
   * would otherwise decode the file as @@character_set_database. BIT columns go through `+ 0`.
   */
  async 'server-bound'({ src, dst, dir }) {
    const [s, d] = await Promise.all([connect(src), connect(dst)]);
    const [s2, d2] = await Promise.all([connect(src), connect(dst)]);
    const [srcDir, dstDir] = await Promise.all([fileDir(s, basename(dir)), fileDir(d, basename(dir))]);
    try {
      const [t] = await s.query("SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY DATA_LENGTH DESC, TABLE_NAME", [DB]);
      const tables = (t as Array<{ n: string }>).map((r, i) => ({ name: r.n, file: `${i}.tsv`, out: '', load: '' }));
      await d.query('SET SESSION foreign_key_checks = 0');
      for (const tb of tables) {
        const [[ddl]] = await s.query(`SHOW CREATE TABLE ${DB}.${qi(tb.name)}`) as unknown as [Array<{ 'Create Table': string }>];
        await d.query(ddl!['Create Table']);
        const [c] = await s.query("SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND IS_GENERATED = 'NEVER' ORDER BY ORDINAL_POSITION", [DB, tb.name]);
        const cols = c as Array<{ c: string; t: string }>;
        // BIT is written to the file as raw bytes, which LOAD DATA reads back as a string: dump it as a
        // number and load it through a variable (the documented workaround).
        tb.out = cols.map((r) => (r.t === 'bit' ? `${qi(r.c)} + 0` : qi(r.c))).join(', ');
        tb.load = `(${cols.map((r, i) => (r.t === 'bit' ? `@b${i}` : qi(r.c))).join(', ')})`;
        const bits = cols.flatMap((r, i) => (r.t === 'bit' ? [`${qi(r.c)} = CAST(@b${i} AS UNSIGNED)`] : []));
        if (bits.length) tb.load += ` SET ${bits.join(', ')}`;
      }
      await Promise.all([mkdirIn(src, srcDir), mkdirIn(dst, dstDir)]);
      for (const c of [s, s2]) await c.query("SET SESSION time_zone = '+00:00'");
      await twoAtATime(tables, [s, s2], (c, tb) => c.query(`SELECT ${tb.out} INTO OUTFILE ${sq(`${srcDir}/${tb.file}`)} CHARACTER SET binary FROM ${DB}.${qi(tb.name)}`));
      const sizes = new Map((await run(src, ['sh', '-c', `cd ${sh(srcDir)} && stat -c '%n %s' *.tsv`])).trim().split('\n').map((l) => l.split(' ')).map(([f, n]) => [f!, Number(n)]));
      // The tar holds the directory itself (same basename on both sides): unpack it into the target's
      // parent directory; Docker creates the entries as root, so hand them to mysqld.
      const tar = await src.container.copyArchiveFromContainer(srcDir);
      await dst.container.copyArchiveToContainer(tar as Readable, dstDir.slice(0, dstDir.lastIndexOf('/')) || '/');
      await run(dst, ['chown', '-R', 'mysql:mysql', dstDir]);
      for (const c of [d, d2]) await c.query("SET SESSION foreign_key_checks = 0, unique_checks = 0, sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00'");
      tables.sort((a, b) => sizes.get(b.file)! - sizes.get(a.file)!);
      await twoAtATime(tables, [d, d2], (c, tb) => c.query(`LOAD DATA INFILE ${sq(`${dstDir}/${tb.file}`)} INTO TABLE ${DB}.${qi(tb.name)} CHARACTER SET binary ${tb.load}`));
      return { peakRssMb: 0, bytes: [...sizes.values()].reduce((a, b) => a + b, 0) };
    } finally {
      await Promise.all([s, s2, d, d2].map((c) => c.end()));
      await Promise.all([run(src, ['rm', '-rf', srcDir]), run(dst, ['rm', '-rf', dstDir])]);
    }
  },
};

const connect = (s: Server) => createConnection({ ...endpoint(s), database: DB });
const qi = (n: string) => `\`${n.replaceAll('`', '``')}\``;
const sq = (v: string) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
const sh = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;

/** A fresh directory for INTO OUTFILE / LOAD DATA INFILE files: under @@secure_file_priv when the server restricts file I/O there, else /tmp. */
async function fileDir(c: Awaited<ReturnType<typeof connect>>, name: string): Promise<string> {
  const [[row]] = await c.query('SELECT @@secure_file_priv AS p') as unknown as [Array<{ p: string | null }>];
  const base = (row?.p ?? '').replace(/\/+$/, '');
  return `${base || '/tmp'}/ferry-bench-${name}`;
}

async function mkdirIn(s: Server, path: string): Promise<void> {
  await run(s, ['sh', '-c', `rm -rf ${sh(path)} && mkdir -p ${sh(path)} && chown mysql:mysql ${sh(path)}`]);
}

/** Runs a command as root in a server's container; throws on a non-zero exit. */
async function run(s: Server, cmd: string[]): Promise<string> {
  const r = await s.container.exec(cmd, { user: 'root' });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${r.exitCode}: ${r.stderr || r.output}`);
  return r.stdout;
}

/** Each item handed in order to whichever of the two connections is free. */
async function twoAtATime<T, C>(items: readonly T[], conns: readonly C[], f: (c: C, item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(conns.map(async (c) => { while (next < items.length) await f(c, items[next++]!); }));
}

/**
 * ferry's verification as the playbook runs it (target against the export, the frozen source at hand:
 * CHECKSUM TABLE on both where the servers match, chunk checksums for the rest), in a child process.
 */
async function ferryVerify(src: Server, dst: Server, dir: string): Promise<{ seconds: number; peakRssMb: number; ok: boolean }> {
  const lib = new URL('../lib/engines/mysql/index.ts', import.meta.url).pathname;
  const code = `import { verifyMysql } from '${lib}';
    const ep = (port, pw) => ({ host: '127.0.0.1', port, user: 'root', password: pw });
    const t0 = performance.now();
    const r = await verifyMysql({ target: ep(${dst.port}, process.env.DST_PW), source: ep(${src.port}, process.env.SRC_PW), dir: '${dir}' });
    console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, ok: r.ok }));`;
  const child = execa(process.execPath, ['--input-type=module', '-e', code], { env: { SRC_PW: src.rootPassword, DST_PW: dst.rootPassword } });
  const peak = sampleRss(child);
  const r = await child;
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; ok: boolean }), peakRssMb: await peak };
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
