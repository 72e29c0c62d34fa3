import { describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('MIGRATION.md covers every preflight finding', () => {
  it('names each check id that lib/preflight can report', async () => {
    // Host checks live in lib/preflight, each engine's in lib/engines/<kind>/assess.ts.
    const engines = join(REPO, 'lib', 'engines');
    const files = [
      ...(await readdir(join(REPO, 'lib', 'preflight'))).map((f) => join(REPO, 'lib', 'preflight', f)),
      ...(await readdir(engines, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => join(engines, d.name, 'assess.ts')),
    ];
    const ids = new Set<string>();
    for (const f of files) {
      const src = await readFile(f, 'utf8').catch(() => '');
      for (const m of src.matchAll(/finding\(\s*(?:'[a-z]+'|[^,]+\?[^,]+:[^,]+|\w+),\s*'([a-z0-9-]+)'/g)) ids.add(m[1]!);
    }
    expect(ids.size).toBeGreaterThan(20);
    const md = await readFile(join(REPO, 'MIGRATION.md'), 'utf8');
    const missing = [...ids].filter((id) => !['mysql-version', 'redis-version'].includes(id) && !md.includes(`\`${id}\``));
    expect(missing).toEqual([]);
  });
});
