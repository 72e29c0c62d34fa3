import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findConfig, loadConfig } from '../../../lib/config/index.ts';

const schemaUrl = new URL('../../../lib/config/schema.ts', import.meta.url).href;
const dir = () => mkdtempSync(join(tmpdir(), 'ferry-config-'));

describe('loadConfig', () => {
  it('loads ferry.config.ts through defineConfig and resolves paths against its directory', async () => {
    const d = dir();
    writeFileSync(join(d, 'ferry.config.ts'), [
      `import { defineConfig } from '${schemaUrl}';`,
      `const project: string = 'vedfolnir';`,
      `export default defineConfig({ source: { redis: { url: 'redis://:\${RPW}@127.0.0.1:6379' } }, app: { envFile: '.env' }, target: { composeDir: 'compose', project } });`,
    ].join('\n'));
    expect(await findConfig(d)).toBe(join(d, 'ferry.config.ts'));
    const c = await loadConfig(join(d, 'ferry.config.ts'), { env: { RPW: 'pw' } });
    expect(c.target.project).toBe('vedfolnir');
    expect(c.stateDir).toBe(join(d, '.ferry'));
    expect(c.app.envFile).toBe(join(d, '.env'));
    expect(c.source.redis?.url).toBe('redis://:pw@127.0.0.1:6379');
  });

  it('loads JSON, and names file:line:col for a syntax error', async () => {
    const d = dir();
    writeFileSync(join(d, 'ferry.config.json'), JSON.stringify({ source: {}, app: { envFile: '.env' }, target: { composeDir: '.', project: 'p' } }));
    expect(await findConfig(d)).toBe(join(d, 'ferry.config.json'));
    expect((await loadConfig(join(d, 'ferry.config.json'))).target.composeDir).toBe(d);
    writeFileSync(join(d, 'bad.json'), '{\n  "source": {},\n  "app": { "envFile": ".env", }\n}');
    await expect(loadConfig(join(d, 'bad.json'))).rejects.toMatchObject({ code: 'E_CONFIG_SYNTAX', message: expect.stringMatching(/bad\.json:3:\d+: not valid JSON/) });
  });

  it('names a missing file and a module without a default export', async () => {
    const d = dir();
    await expect(loadConfig(join(d, 'nope.ts'))).rejects.toMatchObject({ code: 'E_CONFIG_MISSING', message: expect.stringContaining('nope.ts') });
    writeFileSync(join(d, 'empty.ts'), 'export const x = 1;\n');
    await expect(loadConfig(join(d, 'empty.ts'))).rejects.toMatchObject({ code: 'E_CONFIG_LOAD', message: expect.stringContaining('no default export') });
    expect(await findConfig(join(d))).toBeUndefined();
  });

  it('validates what the file holds, naming the file', async () => {
    const d = dir();
    writeFileSync(join(d, 'ferry.config.json'), JSON.stringify({ source: {}, app: { envFile: '.env' }, target: { composeDir: '.', project: 'p', migrationPorts: { mysql: 70000 } } }));
    await expect(loadConfig(join(d, 'ferry.config.json'))).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/^ferry\.config\.json: target\.migrationPorts\.mysql: got 70000; /) });
  });
});
