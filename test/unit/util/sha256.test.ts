import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactMismatch, artifactOf } from '../../../lib/util/sha256.ts';

describe('artifacts', () => {
  it('checksums a file by streaming and notices when it changes, shrinks or goes away', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ferry-sha-')), 'a.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    writeFileSync(path, data);
    const a = await artifactOf(path);
    expect(a).toEqual({ path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    expect(await artifactMismatch(a)).toBeUndefined();
    writeFileSync(path, Buffer.alloc(data.length, 'y'));
    expect(await artifactMismatch(a)).toMatch(/changed since it was recorded/);
    appendFileSync(path, 'z');
    expect(await artifactMismatch(a)).toMatch(/bytes, recorded/);
    rmSync(path);
    expect(await artifactMismatch(a)).toMatch(/missing/);
  });
});
