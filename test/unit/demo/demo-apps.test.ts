import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoConfigInput, startDemo } from '../../../demo/index.ts';
import { generateVeogenFiles } from '../../../demo/veogen.ts';
import { parseCliArgs } from '../../../playbooks/runtime/cli-args.ts';
import { normalizeConfig } from '../../../lib/config/index.ts';
import { isFerryError } from '../../../lib/core/errors.ts';

describe('--demo takes an optional app', () => {
  it('plain --demo is Vedfolnir; --demo=veogen and --demo veogen the second app; other flags untouched', () => {
    expect(parseCliArgs(undefined, ['--demo', '--json']).demo).toBe(true);
    expect(parseCliArgs(undefined, ['--demo=veogen', '--json'])).toMatchObject({ demo: 'veogen', json: true });
    expect(parseCliArgs(undefined, ['--demo', 'veogen', '--dry-run'])).toMatchObject({ demo: 'veogen', 'dry-run': true });
    expect(parseCliArgs(undefined, ['--demo=vedfolnir']).demo).toBe('vedfolnir');
  });

  it('names an unknown app and the ones there are', () => {
    let err: unknown;
    try { parseCliArgs(undefined, ['--demo=shop']); } catch (e) { err = e; }
    expect(isFerryError(err) && err.code).toBe('E_USAGE');
    expect((err as Error).message).toContain('--demo=shop');
    expect(isFerryError(err) && err.hint).toContain('--demo=veogen');
  });
});

describe('the demos\' stores', () => {
  it('Vedfolnir\'s storage/ is a files store into the vedfolnir service\'s ./storage bind mount; only mysql and redis start', () => {
    const c = normalizeConfig(demoConfigInput({
      mysqlUrl: 'mysql://root:pw@127.0.0.1:3306/vedfolnir', redisUrl: 'redis://:pw@127.0.0.1:6379', envFile: '/tmp/d/app/.env',
      composeDir: '/tmp/d/compose', stateDir: '/tmp/d/state', project: 'ferry-demo-abcdef', ports: { mysql: 33306, redis: 36379 }, storage: '/tmp/d/app/storage',
    }), { baseDir: '/tmp/d' });
    expect(c.stores.map((s) => [s.id, s.engine])).toEqual([['mysql', 'mysql'], ['redis', 'redis'], ['storage', 'files']]);
    expect(c.stores[2]).toMatchObject({ source: '/tmp/d/app/storage', target: { service: 'vedfolnir', hostPath: '/tmp/d/compose/storage', containerPath: '/app/storage' } });
    expect(c.target.dataServices).toEqual(['mysql', 'redis']);
    expect(c.app.appServices).toEqual([]);
  });

  it('the second app\'s dry run plans four stores into compose/examples/veogen, its volumes under the project\'s name', async () => {
    const demo = await startDemo({ signal: new AbortController().signal, log: () => undefined, dryRun: true, app: 'veogen' });
    const c = demo.config;
    expect(c.target.composeDir).toMatch(/compose\/examples\/veogen$/);
    expect(c.stores.map((s) => [s.id, s.engine, s.target.service])).toEqual([
      ['veogen-db', 'postgres', 'postgres'], ['cache', 'redis', 'redis'], ['uploads', 'files', 'api'], ['outputs', 'files', 'api'],
    ]);
    expect(c.stores[2]!.target).toMatchObject({ volume: `${c.target.project}_uploads`, containerPath: '/data/uploads' });
    expect(c.target.dataServices).toEqual(['postgres', 'redis']);
    await demo.cleanup();
  });

  it('generates the same uploads/ and outputs/ every time', async () => {
    const a = await mkdtemp(join(tmpdir(), 'ferry-veogen-files-'));
    try {
      const t = await generateVeogenFiles(a, 1);
      expect(t.files).toBe(50);
      expect((await readdir(join(a, 'uploads'))).sort()).toEqual(['user-0', 'user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6']);
      expect((await readdir(join(a, 'outputs'))).length).toBe(10);
      const again = await generateVeogenFiles(join(a, 'again'), 1);
      expect(again).toEqual(t);
    } finally {
      await rm(a, { recursive: true, force: true });
    }
  });
});
