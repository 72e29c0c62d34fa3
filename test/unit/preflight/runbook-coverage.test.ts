import { describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('MIGRATION.md covers every preflight finding', () => {
  it('names each check id that lib/preflight can report', async () => {
    const dir = join(REPO, 'lib', 'preflight');
    const ids = new Set<string>();
    for (const f of await readdir(dir)) {
      const src = await readFile(join(dir, f), 'utf8');
      for (const m of src.matchAll(/finding\(\s*(?:'[a-z]+'|[^,]+\?[^,]+:[^,]+|\w+),\s*'([a-z0-9-]+)'/g)) ids.add(m[1]!);
    }
    expect(ids.size).toBeGreaterThan(20);
    const md = await readFile(join(REPO, 'MIGRATION.md'), 'utf8');
    const missing = [...ids].filter((id) => !['mysql-version', 'redis-version'].includes(id) && !md.includes(`\`${id}\``));
    expect(missing).toEqual([]);
  });
});
