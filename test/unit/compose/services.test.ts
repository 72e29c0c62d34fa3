import { describe, expect, it } from 'vitest';
import { parseServiceNames } from '../../../lib/compose/services.ts';
import { containerPortOf, targetSecretName, targetUrlOf } from '../../../lib/compose/store-target.ts';
import type { ConfigStore } from '../../../lib/config/schema.ts';

describe('the compose project as ferry reads it', () => {
  it('lists the services `compose config` prints (v1 and v2 canonical YAML), quoted names included', () => {
    const yaml = ['name: shop', 'services:', '  db:', '    image: mysql:8.0', '    ports:', '      - 3306', '  "blog-db":', '    image: mysql:8.0', '  web:',
      '    build:', '      context: .', 'volumes:', '  uploads: {}', ''].join('\n');
    expect(parseServiceNames(yaml)).toEqual(['db', 'blog-db', 'web']);
  });

  it('reaches a store\'s target by target.url, else by the stack\'s secret named after its service', () => {
    const s = (engine: ConfigStore['engine'], service: string, extra: Partial<ConfigStore['target']> = {}): ConfigStore =>
      ({ id: service, engine, source: '', target: { service, migrationPort: 40000, ...extra }, options: {} });
    expect(targetSecretName(s('mysql', 'db'))).toBe('db_root_password');
    expect(targetSecretName(s('redis', 'queue'))).toBe('queue_password');
    expect(targetSecretName(s('postgres', 'pg'))).toBe('pg_password');
    expect(targetSecretName(s('mysql', 'db', { url: 'mysql://root:x@127.0.0.1:1' }))).toBeUndefined();
    expect(targetUrlOf(s('mysql', 'db'), () => 'p@ss/w')).toBe('mysql://root:p%40ss%2Fw@127.0.0.1:40000');
    expect(targetUrlOf(s('redis', 'queue'), () => 'pw', 41000)).toBe('redis://:pw@127.0.0.1:41000');
    // A loopback target.url is reached at the run's port (a rehearsal's free port, verify's tunnel); another host as written.
    expect(targetUrlOf(s('redis', 'cache', { url: 'redis://127.0.0.1:40000' }), () => '', 41000)).toBe('redis://127.0.0.1:41000');
    expect(targetUrlOf(s('redis', 'cache', { url: 'redis://:pw@cache.internal:6379' }), () => '', 41000)).toBe('redis://:pw@cache.internal:6379');
    expect(targetUrlOf(s('files', 'web', { migrationPort: undefined, volume: 'uploads' }), () => '')).toBe('volume:uploads');
    expect([containerPortOf(s('mysql', 'db')), containerPortOf(s('redis', 'q', { containerPort: 6380 })), containerPortOf(s('files', 'web'))]).toEqual([3306, 6380, undefined]);
  });
});
