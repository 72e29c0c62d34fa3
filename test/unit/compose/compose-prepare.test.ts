/** compose-prepare on a scratch directory: idempotent, never overwrites, undo removes only its own files. */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../../lib/config/schema.ts';
import { silentLogger } from '../../../lib/core/logger.ts';
import { noProgress } from '../../../lib/core/progress.ts';
import type { StepOutputs, StepParams } from '../../../lib/core/step.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import type { FerryContext } from '../../../lib/steps/context.ts';
import { secretPath } from '../../../lib/compose/layout.ts';
import prepare from '../../../lib/steps/compose-prepare.ts';

describe('compose-prepare', () => {
  let dir: string;
  let previous: StepOutputs | undefined;
  const params = (): StepParams<Config, FerryContext> => ({
    config: { ...configSchema.parse({ source: {}, app: { envFile: '.env' }, target: { composeDir: dir, project: 'p' } }), stateDir: dir },
    ctx: { mode: 'migrate', redactor: new Redactor(), source: {}, target: {}, services: {}, artifactsDir: dir, project: 'p', composeDir: dir, appDir: dir },
    signal: new AbortController().signal, log: silentLogger, progress: noProgress, previous, outputs: new Map(), stateDir: dir,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-prepare-'));
    previous = undefined;
    await mkdir(join(dir, 'secrets'));
    await writeFile(secretPath(dir, 'mysql_password'), 'the-apps-own\n', { mode: 0o600 });
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('runs once, then check says done and a second run changes nothing', async () => {
    expect((await prepare.check!(params())).done).toBe(false);
    expect((await prepare.plan(params())).pending).toBe(true);
    previous = (await prepare.run(params()))!;
    expect(previous.data?.createdSecrets).toEqual(['mysql_root_password', 'redis_password', 'grafana_admin_password']);
    const root = await readFile(secretPath(dir, 'mysql_root_password'), 'utf8');
    expect(await prepare.check!(params())).toMatchObject({ done: true });
    expect((await prepare.verify!(params())).ok).toBe(true);
    expect((await prepare.run(params()))!.data).toEqual({ createdDirs: [], createdSecrets: [] });
    expect(await readFile(secretPath(dir, 'mysql_root_password'), 'utf8')).toBe(root);
    expect(await readFile(secretPath(dir, 'mysql_password'), 'utf8')).toBe('the-apps-own\n');
  });

  it('undo removes only what it created, twice safely, and keeps passwords a data dir was initialised with', async () => {
    previous = (await prepare.run(params()))!;
    await writeFile(join(dir, 'data', 'mysql', 'ibdata1'), 'x');
    await prepare.undo!(params());
    expect((await stat(secretPath(dir, 'mysql_root_password'))).isFile()).toBe(true);

    await rm(join(dir, 'data', 'mysql', 'ibdata1'));
    await prepare.undo!(params());
    await prepare.undo!(params());
    await expect(stat(secretPath(dir, 'mysql_root_password'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(dir, 'data'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(secretPath(dir, 'mysql_password'), 'utf8')).toBe('the-apps-own\n');
  });

  it('verify names a secrets folder others can read', async () => {
    previous = (await prepare.run(params()))!;
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'secrets'), 0o755);
    expect((await prepare.verify!(params())).findings).toEqual([`${join(dir, 'secrets')} has mode 755, expected 700`]);
  });
});
