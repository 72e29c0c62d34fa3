/**
 * A fake engine implementing the engine contract over in-memory maps (a "source" and a "target" per
 * store, the export written as a real manifest file): not a mock database, a way to drive the runner
 * through generated per-store steps and see exactly which phases ran, in which order.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineEngine, type Engine, type EngineParams, type EnginePhase } from '../../../lib/core/engine.ts';
import type { ConfigStore } from '../../../lib/config/schema.ts';
import type { FerryContext, StoreBinding } from '../../../lib/steps/context.ts';
import { Redactor } from '../../../lib/util/redact.ts';

export interface FakeWorld {
  readonly source: Map<string, Map<string, string>>;
  readonly target: Map<string, Map<string, string>>;
  readonly frozen: Set<string>;
  readonly calls: string[];
  /** `<phase>:<store>` → fail that many more times. */
  readonly faults: Map<string, number>;
  /** Stores whose source cannot be reached: their sourceState (the one read of the source without a call record) throws. */
  readonly unreachable: Set<string>;
}

export function fakeWorld(): FakeWorld {
  return { source: new Map(), target: new Map(), frozen: new Set(), calls: [], faults: new Map(), unreachable: new Set() };
}

const digest = (m: Map<string, string> | undefined) => JSON.stringify([...(m ?? new Map()).entries()].sort());

export function fakeEngine(w: FakeWorld, kind: 'mysql' | 'redis', phases: readonly EnginePhase[] = ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw']): Engine {
  const call = (phase: string, p: EngineParams) => {
    const key = `${phase}:${p.store.id}`;
    w.calls.push(key);
    const left = w.faults.get(key) ?? 0;
    if (left > 0) { w.faults.set(key, left - 1); throw new Error(`${key} broke`); }
  };
  const manifest = (p: EngineParams) => join(p.artifactDir, 'manifest.json');
  const engine: Engine = {
    kind,
    phases,
    parseOptions: (raw) => (raw ?? {}) as Record<string, unknown>,
    async facts(p) { call('facts', p); return { keys: w.source.get(p.store.id)?.size ?? 0 }; },
    assess: () => [],
    async sourceState(p) {
      if (w.unreachable.has(p.store.id)) throw new Error(`connect ECONNREFUSED (the source of ${p.store.id})`);
      return digest(w.source.get(p.store.id));
    },
    async exported(p) { return existsSync(manifest(p)) && JSON.parse(readFileSync(manifest(p), 'utf8')).state === digest(w.source.get(p.store.id)); },
    async export(p) {
      call('export', p);
      mkdirSync(p.artifactDir, { recursive: true });
      const rows = [...(w.source.get(p.store.id) ?? new Map())];
      writeFileSync(manifest(p), JSON.stringify({ state: digest(w.source.get(p.store.id)), rows }));
      return { data: { keys: rows.length }, manifest: manifest(p) };
    },
    async import(p) {
      call('import', p);
      const { rows } = JSON.parse(readFileSync(manifest(p), 'utf8')) as { rows: [string, string][] };
      w.target.set(p.store.id, new Map(rows));
      return { data: { keys: rows.length, into: p.targetUrl } };
    },
    async clearTarget(p) { call('clearTarget', p); w.target.delete(p.store.id); },
    async verify(p) {
      call('verify', p);
      const s = w.source.get(p.store.id) ?? new Map(), t = w.target.get(p.store.id) ?? new Map();
      const entries = [...s.keys()].map((k) => ({ subject: `key ${k}`, ok: t.get(k) === s.get(k), ...(t.get(k) === s.get(k) ? {} : { findings: [`target has ${t.get(k) ?? 'nothing'}`] }) }));
      return { ok: entries.every((e) => e.ok), entries, seconds: 0 };
    },
    async freeze(p) { call('freeze', p); w.frozen.add(p.store.id); return { wasFrozen: false }; },
    async thaw(p) { call('thaw', p); w.frozen.delete(p.store.id); },
    async quietSample(p) { return digest(w.source.get(p.store.id)); },
  };
  const shaped: Record<string, unknown> = { ...engine };
  for (const k of ['freeze', 'thaw'] as const) if (!phases.includes(k)) delete shaped[k];
  return defineEngine(shaped as unknown as Engine) as Engine;
}

export function store(id: string, engine: ConfigStore['engine'], port: number): ConfigStore {
  return engine === 'files'
    ? { id, engine, source: `/srv/app/${id}`, target: { service: 'web', hostPath: `/srv/stack/${id}`, containerPath: `/app/${id}` }, options: {} }
    : { id, engine, source: `${engine}://app:pw-${id}@127.0.0.1:1/${id}`, target: { service: id, migrationPort: port }, options: {} };
}

export function bindings(specs: readonly { store: ConfigStore; engine: Engine | undefined }[]): ReadonlyMap<string, StoreBinding> {
  return new Map(specs.map((s) => [s.store.id, { ...s, targetUrl: () => `fake://127.0.0.1:${s.store.target.migrationPort ?? 0}` }]));
}

export function fakeContext(stores: ReadonlyMap<string, StoreBinding>): { ctx: FerryContext; stateDir: string } {
  const stateDir = mkdtempSync(join(tmpdir(), 'ferry-store-steps-'));
  return {
    stateDir,
    ctx: {
      mode: 'migrate', redactor: new Redactor(), source: {}, target: {}, services: {}, artifactsDir: join(stateDir, 'artifacts'),
      project: 'fake', composeDir: stateDir, appDir: stateDir, stores,
    },
  };
}
