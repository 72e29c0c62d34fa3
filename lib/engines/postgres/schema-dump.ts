/**
 * The schema in PostgreSQL's own form: `pg_dump --schema-only --section=pre-data|post-data`, in the
 * export's snapshot (`--snapshot`). It must be a pg_dump whose major is ≥ the source's: the host's when
 * one qualifies (PATH, Debian's /usr/lib/postgresql/N, Homebrew's postgresql@N), else `pg_dump` from a
 * local `postgres:<major>` image run with `--network host` — only for a source on the loopback, the one
 * place that network reaches — else refused with the three ways out; `--pg-dump <path>` (the store's
 * `pgDump` option) names one instead. The password travels in PGPASSWORD.
 */
import { readdir } from 'node:fs/promises';
import { exec } from '../../util/exec.ts';
import { FerryError } from '../../core/errors.ts';
import type { PgTarget } from './connect.ts';

export interface PgDumpTool {
  /** `host` (a binary here) or `docker` (an image's pg_dump on the host network). */
  readonly via: 'host' | 'docker';
  readonly major: number;
  readonly file: string;
  /** Arguments before pg_dump's own (docker run … image pg_dump). */
  readonly prefix: readonly string[];
  /** For the report: `/usr/bin/pg_dump (15)`, `postgres:16 image`. */
  readonly label: string;
}

const HOST_DIRS = ['/usr/lib/postgresql', '/opt/homebrew/opt', '/usr/local/opt'];

async function hostCandidates(): Promise<string[]> {
  const out = ['pg_dump'];
  for (const dir of HOST_DIRS) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) if (/^(\d+|postgresql@\d+)$/.test(n)) out.push(`${dir}/${n}/bin/pg_dump`);
  }
  return out;
}

async function majorOf(file: string, prefix: readonly string[] = []): Promise<number | undefined> {
  const r = await exec(prefix.length ? 'docker' : file, [...prefix, ...(prefix.length ? [file] : []), '--version'], { timeoutMs: 60_000 });
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(r.stdout);
  return r.exitCode === 0 && m ? Number(m[1]) : undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** How choosePgDump looks around (injectable: unit tests describe a machine without running anything). */
export interface PgDumpProbe {
  /** pg_dump binaries worth asking (PATH's, Debian's, Homebrew's). */
  candidates(): Promise<string[]>;
  /** The major of a pg_dump (run as `prefix… file --version` when prefixed), undefined when it does not run. */
  majorOf(file: string, prefix?: readonly string[]): Promise<number | undefined>;
  hasImage(image: string): Promise<boolean>;
}

const realProbe: PgDumpProbe = {
  candidates: hostCandidates,
  majorOf,
  hasImage: async (image) => (await exec('docker', ['image', 'inspect', image], { timeoutMs: 60_000 })).exitCode === 0,
};

/**
 * The pg_dump to use for a source of `sourceMajor` at `t`: `override` (the store's `pgDump`, `--pg-dump`)
 * when given, else the newest qualifying one on the host, else a local `postgres:<major>` image's for a
 * loopback source; FerryError naming the source's major, what was found and the three ways out otherwise.
 */
export async function choosePgDump(sourceMajor: number, t: PgTarget, o: { override?: string; probe?: PgDumpProbe } = {}): Promise<PgDumpTool> {
  const probe = o.probe ?? realProbe;
  const at = `${t.host}:${t.port}/${t.database}`;
  if (o.override) {
    const major = await probe.majorOf(o.override);
    if (major !== undefined && major >= sourceMajor) return { via: 'host', major, file: o.override, prefix: [], label: `${o.override} (${major})` };
    throw new FerryError('E_PG_DUMP_VERSION', `The pg_dump given (${o.override}) ${major === undefined ? 'does not run' : `is ${major}`}: the PostgreSQL ${sourceMajor} source ${at} needs one of major ≥ ${sourceMajor}`, {
      hint: `give --pg-dump (the store's pgDump option) a pg_dump ${sourceMajor} or newer, e.g. /opt/homebrew/opt/postgresql@${sourceMajor}/bin/pg_dump or /usr/lib/postgresql/${sourceMajor}/bin/pg_dump`,
    });
  }
  let best: PgDumpTool | undefined;
  let newest: { file: string; major: number } | undefined;
  for (const file of await probe.candidates()) {
    const major = await probe.majorOf(file);
    if (major === undefined) continue;
    if (!newest || major > newest.major) newest = { file, major };
    if (major >= sourceMajor && (!best || major > best.major)) best = { via: 'host', major, file, prefix: [], label: `${file} (${major})` };
  }
  if (best) return best;
  const image = `postgres:${sourceMajor}`;
  const hasImage = await probe.hasImage(image);
  if (hasImage && LOOPBACK.has(t.host)) {
    const prefix = ['run', '--rm', '--network', 'host', '-e', 'PGPASSWORD', image];
    const major = await probe.majorOf('pg_dump', prefix);
    if (major !== undefined && major >= sourceMajor) return { via: 'docker', major, file: 'pg_dump', prefix, label: `${image} image` };
  }
  const found = newest ? `the newest pg_dump here is ${newest.file} (${newest.major})` : 'no pg_dump is installed here';
  const img = !hasImage ? `no ${image} image is available` : `the ${image} image's pg_dump cannot reach ${t.host} (not the loopback)`;
  throw new FerryError('E_PG_DUMP_VERSION', `Cannot dump the schema of the PostgreSQL ${sourceMajor} source ${at}: ${found}, and ${img}`, {
    hint: `any one of: install pg_dump ≥ ${sourceMajor} on this host (\`brew install postgresql@${sourceMajor}\`, or \`apt-get install postgresql-client-${sourceMajor}\` from the PGDG repository); `
      + `make the ${image} image available (\`docker pull ${image}\`; used for a source on 127.0.0.1); or name a pg_dump ≥ ${sourceMajor} with --pg-dump <path> (the store's pgDump option)`,
  });
}

/** One section of the schema, as SQL text (psql's \\restrict guards removed: ferry runs it itself). */
export async function dumpSection(tool: PgDumpTool, t: PgTarget, section: 'pre-data' | 'post-data', snapshot: string, signal?: AbortSignal): Promise<string> {
  const args = ['--schema-only', `--section=${section}`, `--snapshot=${snapshot}`, '--no-password', '--quote-all-identifiers',
    '-h', t.host, '-p', String(t.port), '-U', t.user, '-d', t.database];
  const r = await exec(tool.via === 'docker' ? 'docker' : tool.file, [...tool.prefix, ...(tool.via === 'docker' ? [tool.file] : []), ...args], {
    env: { PGPASSWORD: t.password, PGCONNECT_TIMEOUT: '15' }, timeoutMs: 30 * 60_000, ...(signal ? { signal } : {}),
  });
  if (r.exitCode !== 0) {
    throw new FerryError('E_PG_DUMP', `pg_dump (${tool.label}) failed on the ${section} schema of ${t.host}:${t.port}/${t.database} as ${t.user}`, {
      hint: 'read the detail; a "permission denied" needs SELECT on every table (see the preflight GRANT)', detail: r.stderr || r.failure || '',
    });
  }
  return stripRestrict(r.stdout);
}

/** pg_dump ≥ 15.14/16.10/17.6 wraps scripts in psql-only `\restrict KEY` … `\unrestrict KEY` lines. */
export function stripRestrict(sql: string): string {
  return sql.replace(/^\\(un)?restrict \S+\s*$/gm, '');
}
