import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATA_SECRETS, LAYOUT_DIRS, prepareLayout, secretPath } from '../../../lib/compose/layout.ts';
import { targetEndpoints } from '../../../lib/compose/endpoints.ts';

describe('prepareLayout and targetEndpoints', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-layout-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('creates the layout, secrets/ 0700, and random passwords it reports as created', async () => {
    const r = await prepareLayout(dir);
    expect(r.createdDirs).toEqual([...LAYOUT_DIRS]);
    expect(r.createdSecrets).toEqual([...DATA_SECRETS]);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
    const pws = await Promise.all(DATA_SECRETS.map((s) => readFile(secretPath(dir, s), 'utf8')));
    for (const pw of pws) expect(pw).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const modes = await Promise.all(DATA_SECRETS.map(async (s) => [s, (await stat(secretPath(dir, s))).mode & 0o777]));
    expect(Object.fromEntries(modes)).toEqual({ mysql_root_password: 0o600, mysql_password: 0o600, redis_password: 0o600, grafana_admin_password: 0o644 });
    expect(new Set(pws).size).toBe(pws.length);
  });

  it('never overwrites a secret that exists (the env step may have written it)', async () => {
    await mkdir(join(dir, 'secrets'), { recursive: true });
    await writeFile(secretPath(dir, 'redis_password'), 'from-the-app-env\n');
    const r = await prepareLayout(dir);
    expect(r.createdSecrets).not.toContain('redis_password');
    expect(r.createdDirs).not.toContain('secrets');
    expect(await readFile(secretPath(dir, 'redis_password'), 'utf8')).toBe('from-the-app-env\n');
    const again = await prepareLayout(dir);
    expect(again).toEqual({ createdDirs: [], createdSecrets: [] });

    const ep = await targetEndpoints(dir, { target: { migrationPorts: { mysql: 33306, redis: 36379 } } }, ['vedfolnir']);
    expect(ep.redis).toEqual({ host: '127.0.0.1', port: 36379, password: 'from-the-app-env', databases: [] });
    expect(ep.mysql).toMatchObject({ host: '127.0.0.1', port: 33306, user: 'root', databases: ['vedfolnir'] });
    expect(ep.mysql.password).toBe(await readFile(secretPath(dir, 'mysql_root_password'), 'utf8'));
  });

  it('names the missing secret file and the step that makes it', async () => {
    const err = await targetEndpoints(dir, { target: { migrationPorts: { mysql: 1, redis: 2 } } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_COMPOSE_SECRET', hint: expect.stringMatching(/compose-prepare/) });
    expect((err as Error).message).toContain(secretPath(dir, 'mysql_root_password'));
  });
});
