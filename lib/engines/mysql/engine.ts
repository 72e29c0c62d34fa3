/**
 * The MySQL engine behind the engine contract (lib/core/engine.ts): a store is a set of databases on
 * one server, reached by `store.source` (a mysql:// URL) and moved to the server at `targetUrl`.
 * Each phase is one call into the engine's modules (store-export, store-import, store-verify, freeze,
 * reverse, follow).
 */
import { join } from 'node:path';
import { defineEngine } from '../../core/engine.ts';
import { withMysql } from './connect.ts';
import { describeMysql } from './endpoint.ts';
import { parseMysqlOptions, definerPolicyOf, type MysqlOptions, type MysqlStore } from './options.ts';
import { gatherMysqlFacts, gatherMysqlTargetFacts, type MysqlFacts } from './facts.ts';
import { assessMysql, DEFAULT_MYSQL_TARGET, type MysqlTargetFacts } from './assess.ts';
import { appAccounts, readEnvAccounts } from './accounts-env.ts';
import { exportStore, exportedNow, sourceStateOf } from './store-export.ts';
import { clearStore, importStore } from './store-import.ts';
import { verifyStore } from './store-verify.ts';
import { freezeMysql, thawMysql, sampleMysql } from './freeze.ts';
import { reverseMysql } from './reverse.ts';
import { abortMysqlFollow, catchUpMysql, followMysql, mysqlFollowOptionsOf, mysqlFollowStatus, promoteMysql } from './follow.ts';
import { sourceOf, sourceServer, targetOf } from './store.ts';
import { verifyMysqlPinned } from './replication-pin.ts';

export interface MysqlEngineFacts {
  readonly source: MysqlFacts;
  /** Read from the running target when `targetUrl` is known, else what a fresh MySQL 8 service is. */
  readonly target: MysqlTargetFacts;
  /** Users the app's env files give a password for: an account the target cannot get by hash is created with it. */
  readonly envPasswordUsers?: readonly string[];
}

export const mysqlEngine = defineEngine<MysqlOptions, MysqlEngineFacts>({
  kind: 'mysql',
  phases: ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw', 'reverse', 'follow', 'catchUp', 'promote'],
  parseOptions: parseMysqlOptions,

  async facts(p) {
    const env = await readEnvAccounts(p.store.options.appEnvFiles);
    const source = await gatherMysqlFacts(sourceServer(p), appAccounts(p.store.options.accounts, env));
    const target = p.targetUrl ? await gatherMysqlTargetFacts(targetOf(p, [])) : DEFAULT_MYSQL_TARGET;
    return { source, target, envPasswordUsers: env.filter((a) => a.password !== undefined).map((a) => a.user) };
  },

  assess(facts, store: MysqlStore) {
    return assessMysql(facts.source, facts.target, {
      definer: store.options.definer, definerAccount: store.options.definerAccount,
      passwordKnown: (user) => store.options.accounts.some((a) => a.user === user && a.passwordFile) || (facts.envPasswordUsers ?? []).includes(user),
    });
  },

  sourceState: sourceStateOf,

  exported: exportedNow,
  export: exportStore,

  import: importStore,
  clearTarget: clearStore,

  verify: verifyStore,

  async freeze(p) {
    const s = sourceServer(p);
    const record = await freezeMysql(s, p.stateDir);
    p.log.info(`${p.store.id}: ${describeMysql(s)} read_only ON`);
    return record;
  },

  async thaw(p, record) {
    const s = sourceServer(p);
    if (await thawMysql(s, p.stateDir, record)) p.log.info(`${p.store.id}: ${describeMysql(s)} read_only as before the freeze`);
  },

  async quietSample(p) {
    const s = sourceServer(p);
    return withMysql(s, sampleMysql);
  },

  async reverse(p) {
    const s = await sourceOf(p);
    const t = targetOf(p, s.databases);
    const r = await reverseMysql({
      from: t, to: s, databases: s.databases, dir: join(p.stateDir, 'reverse', 'export'), stateFile: join(p.stateDir, 'reverse', 'import-progress.json'),
      parallelism: p.store.options.parallelism, definer: definerPolicyOf(p.store.options), progress: p.progress, signal: p.signal,
      note: (n) => p.log.warn(n),
    });
    p.log.info(`${p.store.id}: ${r.exportedRows} rows of the stack copied back to ${describeMysql(s)} (${r.chunksLoaded} chunks reloaded, ${r.chunksSkipped} unchanged)`);
    return { data: { ...r } };
  },

  async follow(p) { return followMysql(await mysqlFollowOptionsOf(p)); },
  async catchUp(p, budgetMs) { return catchUpMysql(await mysqlFollowOptionsOf(p), budgetMs); },
  async promote(p) { await promoteMysql(await mysqlFollowOptionsOf(p)); },
  async abortFollow(p) { await abortMysqlFollow(await mysqlFollowOptionsOf(p)); },
  async followStatus(p) { return mysqlFollowStatus(await mysqlFollowOptionsOf(p)); },
  async verifyPinned(p) {
    const o = await mysqlFollowOptionsOf(p);
    const r = await verifyMysqlPinned({ source: o.source, target: o.target, dir: p.artifactDir, signal: p.signal });
    const at = `${r.pinnedAt.file}:${r.pinnedAt.position}`;
    return {
      ok: r.ok, seconds: r.seconds,
      entries: [{ subject: `pinned at binlog ${at}`, ok: r.ok, counts: { chunks: r.chunks, rows: r.rows, heldMs: r.heldMs }, ...(r.findings.length ? { findings: r.findings } : {}) }],
    };
  },
});
