/**
 * Preflight judgement of the PostgreSQL facts (pure): majors (a downgrade is a blocker unless allowed),
 * servers too old for the checksum, encoding, collation provider and locale (macOS libc or ICU versus the
 * image's glibc: text ordering and text indexes), extensions the target image lacks (naming an image that
 * has them), privileges (the exact GRANT), disk, the target database already there, and what the engine
 * does not carry (role attributes, keyless tables compared whole).
 */
import type { EngineFinding } from '../../core/engine.ts';
import type { PostgresFacts } from './facts.ts';
import type { PostgresOptions } from './options.ts';
import { largeObjectGrant } from './export.ts';

/** Images that ship extensions the stock postgres image lacks. */
export const EXTENSION_IMAGES: Readonly<Record<string, string>> = {
  postgis: 'postgis/postgis:{major}-3.4', postgis_topology: 'postgis/postgis:{major}-3.4', postgis_raster: 'postgis/postgis:{major}-3.4',
  vector: 'pgvector/pgvector:pg{major}', timescaledb: 'timescale/timescaledb:latest-pg{major}', pg_cron: 'a postgres:{major} image built with pg_cron',
};

const f = (severity: EngineFinding['severity'], check: string, subject: string, message: string, hint: string): EngineFinding => ({ severity, check, subject, message, hint });

export function assessPostgres(facts: PostgresFacts, options: Pick<PostgresOptions, 'allowDowngrade' | 'replace'>): EngineFinding[] {
  const out: EngineFinding[] = [];
  const s = facts.source;
  const t = facts.target;
  const db = `database ${s.database}`;
  if (s.server.major < 12) {
    out.push(f('blocker', 'postgres-source-too-old', `server ${s.endpoint}`, `PostgreSQL ${s.server.version} is older than 12: its float text form differs and ferry's checksums would not agree`, 'upgrade the source to 12 or later first (pg_upgrade), or move it with pg_dump by hand'));
  }
  if (facts.pgDump && 'refused' in facts.pgDump) out.push(f('blocker', 'postgres-pg-dump', `server ${s.endpoint}`, facts.pgDump.refused, facts.pgDump.hint));
  if (t) {
    if (t.major < s.server.major) {
      out.push(f(options.allowDowngrade ? 'warning' : 'blocker', 'postgres-major-downgrade', `server ${t.endpoint}`,
        `the target runs PostgreSQL ${t.major}, older than the source's ${s.server.major}: pre-data written by pg_dump ${s.server.major} may use syntax ${t.major} lacks`,
        options.allowDowngrade ? 'allowed by allowDowngrade: rehearse first, the schema may fail to load' : `use a postgres:${s.server.major} (or newer) image for the store's service, or set allowDowngrade: true after a rehearsal`));
    } else if (t.major > s.server.major) {
      out.push(f('info', 'postgres-major-upgrade', `server ${t.endpoint}`, `PostgreSQL ${s.server.major} → ${t.major}: a logical copy, so the upgrade needs no pg_upgrade`, 'read the release notes of the majors in between for behaviour changes the app may see'));
    }
    const missing = s.server.extensions.map((e) => e.name).filter((n) => !t.availableExtensions.includes(n));
    for (const ext of missing) {
      const image = EXTENSION_IMAGES[ext]?.replace('{major}', String(t.major));
      out.push(f('blocker', 'postgres-extension-missing', `extension ${ext}`, `the target image has no extension ${ext} (the source uses it in ${s.database})`,
        image ? `use ${image} for the store's service` : `use an image for the store's service that ships ${ext} (install its package in a Dockerfile FROM postgres:${t.major})`));
    }
    if (s.server.localeProvider !== t.localeProvider || s.server.collate !== t.collate) {
      out.push(f('warning', 'postgres-collation', db,
        `the source sorts text with ${s.server.localeProvider} ${s.server.icuLocale ?? s.server.collate}, the target with ${t.localeProvider} ${t.collate}: ORDER BY on text, text indexes and range partitions on text may order differently (macOS libc, ICU and glibc disagree on many strings)`,
        'rehearse and check the app\'s sorted lists; ferry rebuilds every index on the target, and compares keys in "C" order so verify is unaffected'));
    }
    if (t.databaseExists && !options.replace) {
      out.push(f('blocker', 'postgres-target-exists', `database ${s.database} on ${t.endpoint}`, `the target already holds a database ${s.database}`, 'point the store at an empty service, or set replace: true to drop it (its data is lost)'));
    }
    if (!t.superuser) out.push(f('blocker', 'postgres-target-privilege', `server ${t.endpoint}`, 'the target account is not a superuser: roles, owners and large objects cannot be created', 'use the image\'s POSTGRES_USER (a superuser) for the migration'));
  }
  if (s.server.encoding === 'SQL_ASCII') {
    out.push(f('blocker', 'postgres-encoding', db, `${s.database} is SQL_ASCII: its bytes have no declared encoding, so text cannot be carried as UTF8 safely`, 'convert the database to UTF8 first (dump, iconv, restore), or move it with pg_dump by hand'));
  } else if (s.server.encoding !== 'UTF8') {
    out.push(f('info', 'postgres-encoding', db, `${s.database} is ${s.server.encoding}: ferry creates it with the same encoding on the target`, 'nothing to do'));
  }
  if (s.unreadable.length) {
    out.push(f('blocker', 'postgres-privilege', `user ${s.user}`, `${s.user} cannot read ${s.unreadable.length} relation(s): ${s.unreadable.slice(0, 5).join(', ')}`,
      s.server.major >= 14 ? `as a superuser run: GRANT pg_read_all_data TO "${s.user}";` : `as a superuser run: GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO "${s.user}"; GRANT SELECT ON ALL SEQUENCES IN SCHEMA <schema> TO "${s.user}";`));
  }
  const los = s.unreadableLargeObjects ?? [];
  if (los.length) {
    out.push(f('blocker', 'postgres-privilege-large-objects', `user ${s.user}`,
      `${s.user} cannot read ${los.length} large object(s) (pg_read_all_data does not cover large objects): ${los.slice(0, 10).join(', ')}${los.length > 10 ? ', …' : ''}`,
      `as a superuser run: ${largeObjectGrant(s.user)}`));
  }
  if (!s.server.superuser) {
    out.push(f('warning', 'postgres-role-hashes', `user ${s.user}`, `${s.user} is not a superuser: roles are carried without their password hashes (pg_authid is superuser-only)`, `export as a superuser, or set the roles' passwords on the target after the import (ALTER ROLE … PASSWORD)`));
  }
  if (s.keyless.length) {
    out.push(f('info', 'postgres-keyless', `table ${s.keyless[0]}`, `${s.keyless.length} table(s) have no primary key (${s.keyless.slice(0, 5).join(', ')}): each is one chunk, and verify names a difference by table, not by rows`, 'add primary keys where you can'));
  }
  if (facts.disk.freeBytes < s.server.databaseBytes * 1.1) {
    out.push(f('blocker', 'postgres-disk', `dir ${facts.disk.dir}`, `${facts.disk.dir} has ${mib(facts.disk.freeBytes)} free; the export of ${s.database} needs about ${mib(s.server.databaseBytes)}`, 'free space there or point the state directory at a larger disk'));
  }
  return out;
}

const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
