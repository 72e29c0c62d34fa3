import { describe, expect, it } from 'vitest';
import { normalizeConfig, type ConfigInput } from '../../../lib/config/index.ts';
import { FerryError } from '../../../lib/core/errors.ts';

const env = { MYSQL_PW: 'p@ss/word!', REDIS_PW: 'redis-secret-1', SHOP_PW: 'shop-pw-123' };
const base = { app: { envFile: '.env' }, target: { composeDir: 'compose', project: 'shop' } };
const norm = (input: unknown, engines?: Parameters<typeof normalizeConfig>[1]['engines']) =>
  normalizeConfig(input, { baseDir: '/srv/app', env, source: 'ferry.config.ts', ...(engines ? { engines } : {}) });

function errorOf(input: unknown): FerryError {
  try { norm(input); } catch (e) { return e as FerryError; }
  throw new Error('expected normalizeConfig to throw');
}

const twoShops: ConfigInput = {
  ...base,
  stores: [
    { id: 'shop-db', engine: 'mysql', source: 'mysql://shop:${SHOP_PW}@127.0.0.1:3306/shop', target: { service: 'db', migrationPort: 33306 } },
    { id: 'cache', engine: 'redis', source: 'redis://127.0.0.1:6379/0', target: { service: 'cache', migrationPort: 36379 }, options: { path: 'dump' } },
    { id: 'uploads', engine: 'files', source: 'storage/uploads', target: { service: 'web', hostPath: 'data/uploads', containerPath: '/app/uploads' } },
  ],
};

describe('config: an app is a set of stores', () => {
  it('expands the Vedfolnir preset to the stores mysql and redis, held by the services mysql and redis', () => {
    const c = norm({ ...base, source: { mysql: { url: 'mysql://v:${MYSQL_PW}@127.0.0.1:3306/vedfolnir', databases: ['vedfolnir'] }, redis: { url: 'redis://:${REDIS_PW}@127.0.0.1:6379' } },
      mysql: { parallelism: 4 }, redis: { path: 'dump' }, target: { ...base.target, migrationPorts: { mysql: 43306 } } });
    expect(c.stores.map((s) => [s.id, s.engine, s.target.service, s.target.migrationPort])).toEqual([['mysql', 'mysql', 'mysql', 43306], ['redis', 'redis', 'redis', 36379]]);
    // Only what the operator wrote: the engines own the defaults (lib/engines/<kind>/options.ts).
    expect(c.stores[0]!.options).toEqual({ parallelism: 4, databases: ['vedfolnir'] });
    expect(c.stores[1]!.options).toEqual({ path: 'dump' });
    expect(decodeURIComponent(new URL(c.stores[0]!.source).password)).toBe('p@ss/word!');
    // Vedfolnir's defaults stay: both data services, no app service started unless listed.
    expect(c.target.dataServices).toEqual(['mysql', 'redis']);
    expect(c.target.appServices).toEqual([]);
    expect(c.app.appServices).toEqual([]);
    expect(Object.isFrozen(c.stores[0]!.target)).toBe(true);
  });

  it('takes stores as declared: sources resolved, paths absolute, services derived, app services left to the compose file', () => {
    const c = norm(twoShops);
    expect(c.stores.map((s) => s.id)).toEqual(['shop-db', 'cache', 'uploads']);
    expect(c.stores[0]!.source).toBe(`mysql://shop:shop-pw-123@127.0.0.1:3306/shop`);
    expect(c.stores[2]!.source).toBe('/srv/app/storage/uploads');
    expect(c.stores[2]!.target.hostPath).toBe('/srv/app/data/uploads');
    expect(c.target.dataServices).toEqual(['db', 'cache', 'web']);
    expect(c.app.appServices).toBeUndefined();
    expect(c.source).toEqual({});
  });

  it('validates each store\'s options with its engine\'s parseOptions', () => {
    const seen: Array<[unknown, string]> = [];
    const c = norm(twoShops, { redis: { parseOptions: (raw, id) => { seen.push([raw, id]); return { ...(raw as object), replace: false }; } } });
    expect(seen).toEqual([[{ path: 'dump' }, 'cache']]);
    expect(c.stores[1]!.options).toEqual({ path: 'dump', replace: false });
    expect(() => norm(twoShops, { mysql: { parseOptions: () => { throw new FerryError('E_CONFIG', 'stores[shop-db].options.parallelism: got 0; expected 1..16', { hint: 'fix it' }); } } }))
      .toThrow('stores[shop-db].options.parallelism');
  });

  it('refuses duplicate ids and ports, a database store without a migration port, a files store without a place', () => {
    const e = errorOf({
      ...base, source: { redis: { url: 'redis://127.0.0.1:6379' } },
      stores: [
        { id: 'redis', engine: 'redis', source: 'redis://127.0.0.1:6380', target: { service: 'cache', migrationPort: 36379 } },
        { id: 'db', engine: 'mysql', source: 'postgres://u:hunter2-secret@db/x', target: { service: 'db' } },
        { id: 'files', engine: 'files', source: '/srv/storage', target: { service: 'web' } },
      ],
    });
    expect(e.code).toBe('E_CONFIG');
    const lines = e.detail!.split('\n');
    expect(lines).toEqual([
      'stores[0].id: got "redis"; expected an id no other store has (source.redis has it: the preset\'s stores are "mysql" and "redis")',
      'stores[0].target.migrationPort: got 36379; expected a port no other service uses (source.redis publishes service "redis" on it)',
      'stores[1].source: got "postgres://u:•••@db/x"; expected a URL starting with mysql:// or mariadb:// for a mysql store',
      'stores[1].target.migrationPort: got nothing; expected the 127.0.0.1 port mysql service "db" is published on during the migration',
      'stores[2].target: got neither hostPath nor volume; expected where the files land (a host directory the service mounts, or a named volume)',
      'stores[2].target.containerPath: got nothing; expected the path inside service "web" where the app sees the files',
    ]);
    expect(e.message).not.toContain('hunter2');
  });

  it('lets two stores of one service (two schemas of one server) share its port, never two services or two ports', () => {
    const db = (id: string, service: string, port: number) => ({ id, engine: 'mysql', source: `mysql://root@127.0.0.1:3306/${id}`, target: { service, migrationPort: port } });
    expect(norm({ ...base, stores: [db('shop', 'db', 33306), db('blog', 'db', 33306)] }).target.dataServices).toEqual(['db']);
    expect(errorOf({ ...base, stores: [db('shop', 'db', 33306), db('blog', 'db', 33307)] }).detail)
      .toBe('stores[1].target.migrationPort: got 33307; expected 33306, the port stores[0] publishes the same service "db" on');
  });

  it('names the store field zod refuses (engine kind, id form)', () => {
    const e = errorOf({ ...base, stores: [{ id: 'Shop DB', engine: 'mongodb', source: 'x', target: { service: 'db' } }] });
    expect(e.detail).toContain('stores[0].id: got "Shop DB"; expected a kebab-case id');
    expect(e.detail).toMatch(/stores\[0\]\.engine: got "mongodb"; .*"mysql"/);
  });

  it('names the variable and the store when a ${ENV} reference in a store source is not set', () => {
    expect(() => normalizeConfig(twoShops, { baseDir: '/srv/app', env: {} })).toThrow('config: stores[0].source refers to ${SHOP_PW}');
  });
});
