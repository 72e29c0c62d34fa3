import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../lib/config/index.ts';
import type { FerryError } from '../../../lib/core/errors.ts';

const valid = () => ({
  source: { mysql: { url: 'mysql://vedfolnir:${MYSQL_PW}@127.0.0.1:3306/vedfolnir' }, redis: { url: 'redis://:${REDIS_PW}@127.0.0.1:6379' } },
  app: { envFile: '../app/.env' },
  target: { composeDir: 'compose', project: 'vedfolnir' },
});
const env = { MYSQL_PW: 'p@ss/word!', REDIS_PW: 'redis-secret-1' };

function errorOf(input: unknown, e: Record<string, string> = env): FerryError {
  try {
    normalizeConfig(input, { baseDir: '/srv/ferry', env: e, source: 'ferry.config.ts' });
  } catch (err) {
    return err as FerryError;
  }
  throw new Error('expected normalizeConfig to throw');
}

describe('normalizeConfig', () => {
  it('fills defaults, resolves paths and ${ENV} references, and freezes the result', () => {
    const c = normalizeConfig(valid(), { baseDir: '/srv/ferry', env });
    expect(c.stateDir).toBe('/srv/ferry/.ferry');
    expect(c.app.envFile).toBe('/srv/app/.env');
    expect(c.target.composeDir).toBe('/srv/ferry/compose');
    expect(c.target.migrationPorts).toEqual({ mysql: 33306, redis: 36379 });
    expect(c.source.mysql?.url).toBe(`mysql://vedfolnir:${encodeURIComponent('p@ss/word!')}@127.0.0.1:3306/vedfolnir`);
    expect(decodeURIComponent(new URL(c.source.mysql!.url).password)).toBe('p@ss/word!');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.target.migrationPorts)).toBe(true);
    expect(() => { (c.target as { project: string }).project = 'x'; }).toThrow(TypeError);
  });

  it('keeps an explicit stateDir, relative to the config', () => {
    expect(normalizeConfig({ ...valid(), stateDir: 'state' }, { baseDir: '/srv/ferry', env }).stateDir).toBe('/srv/ferry/state');
  });

  it('names the field, the offending value and the expected form', () => {
    const e = errorOf({ ...valid(), target: { composeDir: 'compose', project: 'Vedfolnir Prod' } });
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toBe('ferry.config.ts: target.project: got "Vedfolnir Prod"; expected lowercase letters, digits, _ and -');
    expect(e.hint).toContain('ferry.config.ts');
  });

  it('masks a password in an offending URL', () => {
    const e = errorOf({ ...valid(), source: { mysql: { url: 'postgres://root:hunter2-secret@db/x' } } });
    expect(e.message).toContain('source.mysql.url');
    expect(e.message).toContain('expected a URL starting with mysql://');
    expect(e.message).not.toContain('hunter2-secret');
    expect(e.message).toContain('root:•••@db');
  });

  it('lists every problem in the detail, types and unknown fields included', () => {
    const e = errorOf({ ...valid(), app: { envFile: 42 }, extra: true, mysql: { parallelism: 0 } });
    expect(e.message).toMatch(/\(and 2 more\)$/);
    const lines = e.detail!.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^app\.envFile: got 42; expected string/),
      expect.stringMatching(/unknown field "extra"/),
      expect.stringMatching(/^mysql\.parallelism: got 0; .*1/),
    ]));
  });

  it('names the variable and the field when a ${ENV} reference is not set', () => {
    const e = errorOf(valid(), { REDIS_PW: 'x' });
    expect(e.code).toBe('E_CONFIG_ENV');
    expect(e.message).toContain('source.mysql.url');
    expect(e.message).toContain('${MYSQL_PW}');
    expect(e.hint).toContain('export MYSQL_PW=');
  });

  it('reports a missing required section', () => {
    const e = errorOf({ source: {}, app: { envFile: '.env' } });
    expect(e.message).toMatch(/^ferry\.config\.ts: target: got nothing; expected object/);
  });
});
