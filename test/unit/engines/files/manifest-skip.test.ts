/**
 * readManifestSkipping (the scoped copy's reader): a plain-ASCII path the predicate accepts is not
 * parsed (SKIPPED keeps its position); escaped, non-ASCII and non-UTF-8 (base64) paths are always parsed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readManifestSkipping, SKIPPED, writeManifest, type ManifestEntry } from '../../../../lib/engines/files/manifest.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-manifest-skip-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const file = (path: Buffer): ManifestEntry => ({ path, type: 'file', size: 1, mode: 0o644, mtimeMs: 0, uid: 0, gid: 0 });

describe('readManifestSkipping', () => {
  it('skips only plain-ASCII paths the predicate accepts, keeping every position', async () => {
    const paths = [Buffer.from('a/x.jpg'), Buffer.from('a/"q".jpg'), Buffer.from('b/y.jpg'), Buffer.from('a/fée.jpg'), Buffer.from([0x61, 0x2f, 0xff]), Buffer.from('a/back\\slash')];
    const m = join(dir, 'manifest.ndjson');
    await writeManifest(m, (async function* () { for (const p of paths) yield file(p); })());
    const seen: string[] = [];
    const got: Array<ManifestEntry | typeof SKIPPED> = [];
    for await (const e of readManifestSkipping(m, (p) => { seen.push(p); return p.startsWith('a/'); })) got.push(e);
    expect(got.length).toBe(paths.length);
    expect(got[0]).toBe(SKIPPED);                                   // a/x.jpg: accepted
    expect((got[1] as ManifestEntry).path).toEqual(paths[1]);       // an escaped quote: parsed
    expect((got[2] as ManifestEntry).path).toEqual(paths[2]);       // b/y.jpg: not accepted
    expect((got[3] as ManifestEntry).path).toEqual(paths[3]);       // non-ASCII: parsed
    expect((got[4] as ManifestEntry).path).toEqual(paths[4]);       // base64 (not UTF-8): parsed
    expect((got[5] as ManifestEntry).path).toEqual(paths[5]);       // a backslash: parsed
    expect(seen).toEqual(['a/x.jpg', 'b/y.jpg']);                   // the predicate sees plain paths only
  });
});
