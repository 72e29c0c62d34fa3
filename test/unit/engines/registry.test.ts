import { describe, expect, it } from 'vitest';
import { ENGINE_PHASES, type EngineKind } from '../../../lib/core/engine.ts';
import { FerryError } from '../../../lib/core/errors.ts';
import { engines, engineFor, mysqlEngine, redisEngine } from '../../../lib/engines/index.ts';
import { mysqlEndpointFromUrl } from '../../../lib/engines/mysql/endpoint.ts';
import { redisEndpointFromUrl } from '../../../lib/engines/redis/endpoint.ts';
import { Redactor } from '../../../lib/util/redact.ts';

const caught = (fn: () => unknown): FerryError => {
  try { fn(); } catch (e) { return e as FerryError; }
  throw new Error('expected a throw');
};

describe('the engine registry', () => {
  it('keys each engine by its kind, frozen', () => {
    expect(engines.mysql).toBe(mysqlEngine);
    expect(engines.redis).toBe(redisEngine);
    for (const [kind, e] of Object.entries(engines)) expect(e!.kind).toBe(kind);
    expect(Object.isFrozen(engines)).toBe(true);
    expect(Object.isFrozen(mysqlEngine)).toBe(true);
  });

  it('lists exactly the phases each engine implements', () => {
    for (const e of Object.values(engines)) {
      for (const phase of ENGINE_PHASES) {
        const has = typeof (e as unknown as Record<string, unknown>)[phase] === 'function';
        expect({ engine: e!.kind, phase, listed: e!.phases.includes(phase) }).toEqual({ engine: e!.kind, phase, listed: has });
      }
    }
    expect(redisEngine.phases).toEqual(expect.arrayContaining(['export', 'import', 'verify', 'freeze', 'thaw', 'reverse']));
  });

  it('says an engine that is not registered is not available yet', () => {
    // Engines land one by one (postgres, files): ask for a kind the registry lacks, or one it will never have.
    const kind = (['postgres', 'files'] as const).find((k) => !engines[k]) ?? ('cassandra' as EngineKind);
    const e = caught(() => engineFor(kind, 'uploads'));
    expect(e).toBeInstanceOf(FerryError);
    expect(e.code).toBe('E_ENGINE_UNAVAILABLE');
    expect(e.message).toBe(`store uploads: the ${kind} engine is not available yet`);
    expect(e.hint).toContain('registered engines: mysql, redis');
    expect(engineFor('mysql')).toBe(mysqlEngine);
  });
});

describe('parseOptions', () => {
  it('defaults every option (the preset\'s keys included)', () => {
    // (The DEFINER defaults belong to issue 12's accounts work: only their presence is checked here.)
    const m = mysqlEngine.parseOptions({}, 'shop') as Record<string, unknown>;
    expect(m).toMatchObject({ parallelism: 2, via: 'auto' });
    expect(m.definer).toEqual(expect.any(String));
    expect(m.databases).toBeUndefined();
    expect(mysqlEngine.parseOptions({ definer: 'strip', parallelism: 4, databases: ['a', 'b'] }, 'shop')).toMatchObject({ definer: 'strip', parallelism: 4, databases: ['a', 'b'] });
    expect(redisEngine.parseOptions({ path: 'dump', replace: true }, 'cache')).toEqual({
      path: 'dump', replace: true, sessionPrefix: 'session:', ttlToleranceMs: 2000, pauseMs: 7_200_000,
    });
    expect(Object.isFrozen(redisEngine.parseOptions(undefined, 'cache'))).toBe(true);
  });

  it('names the field as stores[<id>].options.<field>, the value and the expected form', () => {
    const e = caught(() => mysqlEngine.parseOptions({ parallelism: 64 }, 'shop'));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toMatch(/^stores\[shop\]\.options\.parallelism: got 64; .*(<=|16)/);
    expect(e.hint).toContain('lib/engines/mysql/options.ts');
    const r = caught(() => redisEngine.parseOptions({ path: 'teleport' }, 'cache'));
    expect(r.message).toMatch(/^stores\[cache\]\.options\.path: got "teleport"; .*"auto"/);
    const d = caught(() => redisEngine.parseOptions({ databases: [0, 99] }, 'cache'));
    expect(d.message).toMatch(/^stores\[cache\]\.options\.databases\[1\]: got 99;/);
  });

  it('refuses unknown fields by name (a typo), and counts the others', () => {
    const e = caught(() => mysqlEngine.parseOptions({ paralelism: 2, definer: 'drop' }, 'shop'));
    expect(e.message).toContain('stores[shop].options');
    expect(e.message).toContain('(and 1 more)');
    expect(e.detail).toContain('unknown field "paralelism"');
    expect(e.detail).toContain('stores[shop].options.definer: got "drop"');
  });

  it('masks a secret-looking value', () => {
    const e = caught(() => redisEngine.parseOptions({ sessionPrefix: 'x', password: 'hunter2-secret' }, 'cache'));
    expect(e.message + (e.detail ?? '')).not.toContain('hunter2-secret');
  });
});

describe('store URLs', () => {
  it('parse to endpoints, registering the password with the redactor', () => {
    const r = new Redactor();
    const m = mysqlEndpointFromUrl('mysql://app:p%40ss-word@db.local:3307/shop', { field: 'stores[shop].source', redactor: r });
    expect(m).toEqual({ host: 'db.local', port: 3307, user: 'app', password: 'p@ss-word', databases: ['shop'] });
    expect(r.redact('oops p@ss-word')).toBe('oops •••');
    expect(mysqlEndpointFromUrl('mysql://root@127.0.0.1', { field: 'f', databases: ['a', 'b'] }).databases).toEqual(['a', 'b']);
    expect(redisEndpointFromUrl('redis://worker:pw-1234@127.0.0.1:6380/3', { field: 'f' })).toEqual({ host: '127.0.0.1', port: 6380, username: 'worker', password: 'pw-1234', databases: [3] });
    expect(redisEndpointFromUrl('redis://127.0.0.1', { field: 'f', databases: [0, 2] })).toEqual({ host: '127.0.0.1', port: 6379, databases: [0, 2] });
    expect(redisEndpointFromUrl('redis://[::1]:6380', { field: 'f' }).host).toBe('::1');
    expect(mysqlEndpointFromUrl('mysql://app:pw@[fd00::5]/shop', { field: 'f' })).toMatchObject({ host: 'fd00::5', port: 3306 });
  });

  it('refuse another scheme with the field named and the password masked', () => {
    const e = caught(() => mysqlEndpointFromUrl('postgres://u:topsecret@h/db', { field: 'stores[shop].source' }));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toContain('stores[shop].source is not a mysql:// or mariadb:// URL');
    expect(e.message).not.toContain('topsecret');
  });
});
