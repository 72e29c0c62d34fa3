/** The client's argv, observed through a stand-in compose executable that prints its arguments. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createComposeClient, type ComposeCli } from '../../../lib/compose/index.ts';

describe('createComposeClient', () => {
  let dir: string;
  let cli: ComposeCli;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-client-'));
    const file = join(dir, 'fake-compose');
    await writeFile(file, '#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/argv"\n[ "$FAIL" = 1 ] && { echo "ERROR: no such service: nope" >&2; echo "more" >&2; exit 1; }\nexit 0\n');
    await chmod(file, 0o755);
    cli = { kind: 'v2', file, prefix: ['compose'], version: '2.0.0' };
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const argv = async () => (await import('node:fs/promises')).readFile(join(dir, 'argv'), 'utf8').then((s) => s.trim().split('\n'));

  it('always names the project and the files; down keeps volumes unless asked', async () => {
    const c = await createComposeClient({ composeDir: dir, project: 'vedfolnir', files: ['docker-compose.yml', 'docker-compose.prod.yml'], cli });
    await c.down();
    expect(await argv()).toEqual(['compose', '-p', 'vedfolnir', '-f', 'docker-compose.yml', '-f', 'docker-compose.prod.yml', 'down', '--remove-orphans']);
    await c.down({ removeVolumes: true });
    expect((await argv()).slice(-3)).toEqual(['down', '--remove-orphans', '--volumes']);
    await c.up(['mysql', 'redis']);
    expect((await argv()).slice(-3)).toEqual(['-d', 'mysql', 'redis']);
  });

  it('reads the base file first even when only overrides are named', async () => {
    const c = await createComposeClient({ composeDir: dir, project: 'vedfolnir', files: ['docker-compose.test.yml'], cli });
    await c.stop(['redis']);
    expect(await argv()).toEqual(['compose', '-p', 'vedfolnir', '-f', 'docker-compose.yml', '-f', 'docker-compose.test.yml', 'stop', 'redis']);
  });

  it('refuses a project name compose would mangle', async () => {
    await expect(createComposeClient({ composeDir: dir, project: 'My Stack', cli })).rejects.toThrow(TypeError);
  });

  it('turns a failure into a FerryError naming project, command and the error line', async () => {
    const c = await createComposeClient({ composeDir: dir, project: 'vedfolnir', cli, env: { FAIL: '1' } });
    const err = await c.up(['nope']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_COMPOSE', detail: 'ERROR: no such service: nope\nmore' });
    expect((err as Error).message).toBe(`up nope failed for compose project vedfolnir (${dir}): ERROR: no such service: nope`);
  });
});
