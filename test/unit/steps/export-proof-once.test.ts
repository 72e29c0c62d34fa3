/**
 * The files store's `export:<id>` as the real command runs it (runner → generated steps → files engine)
 * over a real tree into a bind mount: a decision about an unchanged tree proves it once — one ctime scan
 * (`find -newercm`, observed through a `find` first on PATH that logs its arguments) and at most one hash
 * of the manifest (counted around lib/util/sha256.ts, which still hashes) — on a resume, through `check`
 * after `--restart-from`, and in a dry run. A change is never missed: a resume refuses it, a restarted
 * export copies it.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runPlaybook, type RunEvent, type RunResult } from '../../../lib/runner/index.ts';
import { createFileJournal } from '../../../lib/journal/index.ts';
import { normalizeConfig, type Config } from '../../../lib/config/index.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import { engines } from '../../../lib/engines/index.ts';
import { resolveContext, storeSpecs, withEngineOptions } from '../../../lib/playbooks/index.ts';
import { migrateSteps } from '../../../lib/steps/order.ts';
import type { FerryContext } from '../../../lib/steps/context.ts';

// Every hash of the manifest, counted; the real functions do the work.
const hashed: string[] = [];
vi.mock('../../../lib/util/sha256.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../lib/util/sha256.ts')>();
  return {
    ...real,
    sha256File: (path: string, signal?: AbortSignal) => { hashed.push(path); return real.sha256File(path, signal); },
    artifactMismatch: (a: { path: string }, signal?: AbortSignal) => { hashed.push(a.path); return real.artifactMismatch(a as Parameters<typeof real.artifactMismatch>[0], signal); },
  };
});

const ids = (r: RunResult) => r.steps.map((s) => `${s.id}:${s.status}`);

describe('export:<files store> on an unchanged tree proves it once per run', () => {
  let dir: string, log: string, stateDir: string, src: string, dst: string;
  let config: Config;
  let ctx: FerryContext;
  const path0 = process.env.PATH;
  const redactor = new Redactor();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-proof-once-'));
    [src, dst, stateDir, log] = ['src', 'dst', 'state', 'find.log'].map((n) => join(dir, n)) as [string, string, string, string];
    for (const d of ['a', 'b/c']) await mkdir(join(src, d), { recursive: true });
    for (let i = 0; i < 30; i++) await writeFile(join(src, ['a', 'b', 'b/c'][i % 3]!, `${i}.jpg`), `image ${i}`);
    await mkdir(dst);
    await writeFile(join(dir, 'app.env'), 'A=1\n');
    // A `find` that logs its arguments, then runs the real one.
    const real = execFileSync('sh', ['-c', 'command -v find'], { encoding: 'utf8' }).trim();
    await mkdir(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin/find'), `#!/bin/sh\nprintf 'find %s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`);
    chmodSync(join(dir, 'bin/find'), 0o755);
    process.env.PATH = `${join(dir, 'bin')}:${path0}`;
    const { uid, gid } = userInfo();
    config = withEngineOptions(normalizeConfig({
      app: { envFile: join(dir, 'app.env'), appServices: [] },
      stores: [{ id: 'up', engine: 'files', source: src, target: { service: 'web', hostPath: dst, containerPath: '/app/up' }, options: { owner: `${uid}:${gid}`, quietWindowMs: 0 } }],
      target: { composeDir: dir, project: 'proof-once' }, stateDir,
    }, { baseDir: dir, env: {} }));
    ctx = resolveContext({ config, mode: 'migrate', redactor, engines });
  });
  afterAll(async () => {
    process.env.PATH = path0;
    await rm(dir, { recursive: true, force: true });
  });

  // The store's export, import and verify (freeze and thaw scan on purpose: their quiet window is another proof).
  const playbook = () => ({ id: 'migrate', title: 'files', steps: migrateSteps(storeSpecs(config)).filter((s) => /^(export|import|verify):/.test(s.id)) });
  const journal = () => createFileJournal(stateDir, 'migrate');
  /** One run; the ctime scans and manifest hashes made while export:up decided. */
  async function run(o: { restartFrom?: string; dryRun?: boolean } = {}) {
    writeFileSync(log, '');
    hashed.length = 0;
    let during = false;
    const hashes: string[] = [];
    const onEvent = (e: RunEvent) => {
      if (!('step' in e) || e.step !== 'export:up' || !/^step-(start|skip|done|fail)$/.test(e.type) && e.type !== 'plan') return;
      if (e.type === 'step-start') { appendFileSync(log, 'start\n'); during = true; hashed.length = 0; } else if (during) { appendFileSync(log, 'end\n'); during = false; hashes.push(...hashed); }
    };
    const r = await runPlaybook<Config, FerryContext>({ playbook: playbook(), config, ctx, stateDir, redactor, journal: journal(), onEvent, ...o });
    const lines = readFileSync(log, 'utf8').split('\n');
    // A dry run emits no step-start: its only reads of the tree and the manifest are the export's (import and verify only plan).
    const inside = o.dryRun ? lines : lines.slice(lines.indexOf('start') + 1, lines.indexOf('end'));
    if (o.dryRun) hashes.push(...hashed);
    return { r, scans: inside.filter((l) => l.includes('-newercm')).length, finds: inside.filter((l) => l.startsWith('find ')).length, manifestHashes: hashes.filter((p) => p.endsWith('manifest.ndjson')).length, allFinds: lines.filter((l) => l.startsWith('find ')).length };
  }

  it('the first run exports, imports and verifies', async () => {
    const { r } = await run();
    expect(r.steps.filter((s) => s.status === 'failed').map((s) => s.error?.message)).toEqual([]);
    expect(ids(r)).toEqual(['export:up:done', 'import:up:done', 'verify:up:done']);
    expect(await readFile(join(dst, 'b/c/5.jpg'), 'utf8')).toBe('image 5');
  });

  it('a finished run run again calls no hook: no scan at all', async () => {
    const { r, allFinds } = await run();
    expect(ids(r)).toEqual(['export:up:skipped', 'import:up:skipped', 'verify:up:skipped']);
    expect(allFinds).toBe(0);
  });

  it('resumed (the journal holds the export): one ctime scan and one manifest hash decide it is still current', async () => {
    await journal().unrecord('verify:up');
    const { r, scans, finds, manifestHashes } = await run();
    expect(ids(r)).toEqual(['export:up:skipped', 'import:up:skipped', 'verify:up:done']);
    expect(r.steps[0]!.reason).toMatch(/inputs unchanged and verify holds/);
    expect({ scans, finds, manifestHashes }).toEqual({ scans: 1, finds: 1, manifestHashes: 1 });
  });

  it('a dry run of a resumed journal: one scan and one hash for the export too', async () => {
    await journal().unrecord('verify:up');
    const { r, scans, manifestHashes } = await run({ dryRun: true });
    expect(r.status).toBe('planned');
    expect(r.steps[0]!.status).toBe('skipped');
    expect({ scans, manifestHashes }).toEqual({ scans: 1, manifestHashes: 1 });
    await run(); // the journal completes again
  });

  it('--restart-from export:up on an unchanged tree: check proves it current with one scan (no export, no hash)', async () => {
    const { r, scans, finds, manifestHashes } = await run({ restartFrom: 'export:up' });
    expect(r.steps.filter((s) => s.status === 'failed').map((s) => s.error?.message)).toEqual([]);
    expect(r.steps[0]!.status).toBe('skipped');
    expect(r.steps[0]!.reason).toMatch(/holds the source as it is now/);
    expect({ scans, finds, manifestHashes }).toEqual({ scans: 1, finds: 1, manifestHashes: 0 });
  });

  it('a file changed since: a resume refuses it by name of the step, and the restarted export copies it', async () => {
    await writeFile(join(src, 'b/c/5.jpg'), 'image 5, edited');
    await journal().unrecord('verify:up');
    const refused = await run();
    expect(refused.r.status).toBe('failed');
    expect([refused.r.steps[0]!.id, refused.r.steps[0]!.error?.code]).toEqual(['export:up', 'E_SOURCE_CHANGED']);
    const { r } = await run({ restartFrom: 'export:up' });
    expect(r.steps.filter((s) => s.status === 'failed').map((s) => s.error?.message)).toEqual([]);
    expect(ids(r)).toEqual(['export:up:done', 'import:up:done', 'verify:up:done']);
    expect(await readFile(join(dst, 'b/c/5.jpg'), 'utf8')).toBe('image 5, edited');
    // The export re-read only what changed since its stamp (the import, asked to redo, loads it all again).
    expect(r.steps[0]!.outputs?.data).toMatchObject({ scan: 'ctime', changed: expect.any(Number) });
    expect((r.steps[0]!.outputs?.data as { changed: number }).changed).toBeGreaterThan(0);
  });
});
