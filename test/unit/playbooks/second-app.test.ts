import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../lib/config/index.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import { silentLogger } from '../../../lib/core/logger.ts';
import { noProgress } from '../../../lib/core/progress.ts';
import { engines } from '../../../lib/engines/index.ts';
import { resolveContext, storeSpecs, withEngineOptions } from '../../../lib/playbooks/index.ts';
import { migrateSteps, rollbackSteps } from '../../../lib/steps/order.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'apps', 'second-app', 'ferry.config.json');

describe('a second app shape: two MySQL schemas, two Redis instances, two directories', () => {
  it('loads as six stores in the app\'s own compose project, options validated by their engines', async () => {
    const config = withEngineOptions(await loadConfig(FIXTURE, { env: {} }));
    expect(config.stores.map((s) => `${s.id}:${s.engine}→${s.target.service}`)).toEqual([
      'shop-db:mysql→db', 'blog-db:mysql→blog-db', 'cache:redis→cache', 'queue:redis→queue', 'uploads:files→web', 'thumbnails:files→web',
    ]);
    expect(config.stores[0]!.options).toMatchObject({ databases: ['shop'], parallelism: 2, via: 'auto' });
    expect(config.stores[3]!.options).toMatchObject({ path: 'dump', sessionPrefix: 'sess:', replace: false });
    expect(config.target.dataServices).toEqual(['db', 'blog-db', 'cache', 'queue', 'web']);
    expect(config.app.appServices).toEqual(['web', 'worker']);
  });

  it('plans every store\'s steps; the files stores\' phases say "not available yet" until the files engine registers', async () => {
    const config = withEngineOptions(await loadConfig(FIXTURE, { env: {} }));
    const specs = storeSpecs(config);
    const steps = migrateSteps(specs);
    const ids = steps.map((s) => s.id);
    for (const id of ['shop-db', 'blog-db', 'cache', 'queue', 'uploads', 'thumbnails']) {
      for (const phase of ['export', 'import', 'verify']) expect(ids).toContain(`${phase}:${id}`);
    }
    const frozen = ['shop-db', 'blog-db', 'cache', 'queue', ...(engines.files ? ['uploads', 'thumbnails'] : [])];
    expect(ids.filter((id) => id.startsWith('freeze:'))).toEqual(frozen.map((id) => `freeze:${id}`));
    const ctx = resolveContext({ config, mode: 'migrate', redactor: new Redactor(), dryRun: true, engines });
    const params = { config, ctx, signal: new AbortController().signal, log: silentLogger, progress: noProgress, previous: undefined, outputs: new Map(), stateDir: config.stateDir };
    const plan = async (id: string) => steps.find((s) => s.id === id)!.plan(params);
    if (!engines.files) {
      expect((await plan('export:uploads')).details).toBe('export: not available for files yet');
      expect((await plan('import:thumbnails')).details).toBe('import: not available for files yet');
      expect((await plan('preflight')).reads).toContain('store uploads: facts: not available for files yet');
    }
    if (!engines.files) expect((await plan('prove-quiet')).details).toContain('uploads: freeze: not available for files yet');
    expect((await plan('import:queue')).changes).toEqual(['service queue (127.0.0.1:46380): load the export']);
    expect(rollbackSteps(specs, true).some((s) => s.id === 'reverse:shop-db')).toBe(true);
  });
});
