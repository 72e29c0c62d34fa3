import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startDemo, demoImages, DEMO_ENV_FIXTURE, REPO_COMPOSE_DIR } from '../../../demo/index.ts';
import { mysqlEndpointFromUrl, redisEndpointFromUrl } from '../../../lib/playbooks/endpoints.ts';
import { Redactor, MASK } from '../../../lib/util/redact.ts';
import { isFerryError } from '../../../lib/core/errors.ts';

describe('demo (dry run)', () => {
  it('starts nothing, writes nothing, and points at the repo\'s compose/ and fixture .env for reading', async () => {
    const lines: string[] = [];
    const demo = await startDemo({ signal: new AbortController().signal, log: (l) => lines.push(l), dryRun: true });
    expect(demo.baseDir).toBeUndefined();
    expect(demo.config.target.composeDir).toBe(REPO_COMPOSE_DIR);
    expect(demo.config.app.envFile).toBe(DEMO_ENV_FIXTURE);
    expect(demo.config.target.project).toMatch(/^ferry-demo-[0-9a-f]{6}$/);
    expect(existsSync(demo.config.stateDir)).toBe(false);
    expect(lines.join('\n')).toContain('nothing is started');
    await demo.cleanup();
  });

  it('takes images from FERRY_DEMO_* variables first', async () => {
    const i = await demoImages({ FERRY_DEMO_MYSQL_IMAGE: 'm:1', FERRY_DEMO_REDIS_IMAGE: 'r:1' }, false);
    expect([i.mysql, i.redis]).toEqual(['m:1', 'r:1']);
  });
});

describe('source endpoints from URLs', () => {
  it('decodes users, passwords and databases and registers the password with the redactor', () => {
    const redactor = new Redactor();
    const m = mysqlEndpointFromUrl('mysql://ved%40x:p%40ss%3Aw0rd@db.local:3307/vedfolnir', { env: {}, redactor });
    expect(m).toEqual({ host: 'db.local', port: 3307, user: 'ved@x', password: 'p@ss:w0rd', databases: ['vedfolnir'] });
    expect(redactor.redact('pw is p@ss:w0rd')).toBe(`pw is ${MASK}`);
    const r = redisEndpointFromUrl('redis://:s3cret-pw@127.0.0.1/3', { env: {}, redactor });
    expect(r).toEqual({ host: '127.0.0.1', port: 6379, password: 's3cret-pw', databases: [3] });
  });

  it('resolves ${ENV} references and names a missing one', () => {
    const redactor = new Redactor();
    const m = mysqlEndpointFromUrl('mysql://root:${MYSQL_PW}@127.0.0.1:3306/v', { env: { MYSQL_PW: 'a b/c@d' }, redactor });
    expect(m.password).toBe('a b/c@d');
    expect(redactor.redact('x a b/c@d y')).toBe(`x ${MASK} y`);
    let err: unknown;
    try { redisEndpointFromUrl('redis://:${NOPE}@h:1', { env: {}, redactor }); } catch (e) { err = e; }
    expect(isFerryError(err) && err.code).toBe('E_CONFIG_ENV');
    expect((err as Error).message).toContain('${NOPE}');
  });
});
