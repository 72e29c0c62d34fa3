import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyPool, INLINE_BYTES, INLINE_FILES, MAX_WORKERS, poolSize, type CopyJob } from '../../../../lib/engines/files/copy-pool.ts';
import { copyToBind, byTargetPath, TMP_PREFIX } from '../../../../lib/engines/files/copy-bind.ts';
import { exportTree } from '../../../../lib/engines/files/export.ts';
import { compareManifests } from '../../../../lib/engines/files/compare.ts';
import { targetManifest } from '../../../../lib/engines/files/target.ts';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-copy-pool-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const job = (src: string, dest: string, tmp: string, size: number, o: Partial<CopyJob> = {}): CopyJob => ({
  src: Buffer.from(src), dest: Buffer.from(dest), tmp: Buffer.from(tmp), size, mode: 0o640, mtime: (1700000000123 + 0.5) / 1000, uid: 10001, gid: 10002, ...o,
});

// The same copy on the workers and, for a copy planned small (CopyPool.plan), on the calling thread.
for (const mode of ['workers', 'inline'] as const) describe(`CopyPool: whole files (${mode})`, () => {
  const planned = (pool: CopyPool) => { if (mode === 'inline') pool.plan(INLINE_FILES, INLINE_BYTES); return pool; };

  it('copies files of every size class byte for byte, hashed from the read, with owner, mode and mtime, under their names only', async () => {
    const s = join(dir, `a-src-${mode}`), d = join(dir, `a-dst-${mode}`);
    await mkdir(join(s, 'sub'), { recursive: true });
    await mkdir(join(d, 'sub'), { recursive: true });
    // Empty, small, exactly one block, one block and a byte, several blocks.
    const sizes = [0, 1, 5000, 1 << 20, (1 << 20) + 1, (3 << 20) + 7];
    const bodies = sizes.map((n, i) => Buffer.alloc(n, i + 1).fill(Buffer.from(`file ${i} `), 0, Math.min(n, 7)));
    for (let i = 0; i < sizes.length; i++) await writeFile(join(s, 'sub', `f${i}`), bodies[i]!);
    const pool = planned(new CopyPool(2));
    try {
      const done = await Promise.all(sizes.map((n, i) => pool.copy(job(join(s, 'sub', `f${i}`), join(d, 'sub', `f${i}`), join(d, 'sub', `${TMP_PREFIX}t${i}`), n))));
      expect(done).toEqual(bodies.map((b) => ({ sha256: sha(b), bytes: b.length })));
    } finally { await pool.close(); }
    expect((await readdir(join(d, 'sub'))).sort()).toEqual(sizes.map((_, i) => `f${i}`)); // no temporary name left
    for (let i = 0; i < sizes.length; i++) {
      const st = await lstat(join(d, 'sub', `f${i}`));
      expect([st.uid, st.gid, st.mode & 0o7777, Math.floor(st.mtimeMs)]).toEqual([10001, 10002, 0o640, 1700000000123]);
      expect((await readFile(join(d, 'sub', `f${i}`))).equals(bodies[i]!)).toBe(true);
    }
  });

  it('a directory in the way goes; a file grown since the manifest is copied whole (its hash is of the bytes copied)', async () => {
    const s = join(dir, `b-src-${mode}`), d = join(dir, `b-dst-${mode}`);
    await mkdir(s, { recursive: true });
    await mkdir(join(d, 'x', 'deep'), { recursive: true });
    await writeFile(join(d, 'x', 'deep', 'old'), 'old');
    await writeFile(join(s, 'x'), 'now a file');
    await writeFile(join(s, 'grown'), 'twelve bytes');
    const pool = planned(new CopyPool(1));
    try {
      expect(await pool.copy(job(join(s, 'x'), join(d, 'x'), join(d, `${TMP_PREFIX}x`), 10))).toEqual({ sha256: sha(Buffer.from('now a file')), bytes: 10 });
      expect(await readFile(join(d, 'x'), 'utf8')).toBe('now a file');
      expect(await pool.copy(job(join(s, 'grown'), join(d, 'grown'), join(d, `${TMP_PREFIX}g`), 4))).toEqual({ sha256: sha(Buffer.from('twelve bytes')), bytes: 12 });
      // What a killed run left, the part it wrote at the name and a temporary file of the same name, is replaced, not refused.
      await writeFile(join(d, 'y'), 'twelve');
      await writeFile(join(d, `${TMP_PREFIX}y`), 'stale');
      await pool.copy(job(join(s, 'grown'), join(d, 'y'), join(d, `${TMP_PREFIX}y`), 12));
      expect(await readdir(d)).toEqual(['grown', 'x', 'y'].sort());
      expect(await readFile(join(d, 'y'), 'utf8')).toBe('twelve bytes');
    } finally { await pool.close(); }
  });

  it('a failed copy names the errno, leaves no temporary file, and the pool goes on', async () => {
    const d = join(dir, `c-dst-${mode}`);
    await mkdir(d, { recursive: true });
    await writeFile(join(dir, 'c-ok'), 'ok');
    const pool = planned(new CopyPool(1));
    try {
      await expect(pool.copy(job(join(dir, 'c-missing'), join(d, 'm'), join(d, `${TMP_PREFIX}m`), 1))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(pool.copy(job(join(dir, 'c-ok'), join(d, 'no-dir', 'm'), join(d, 'no-dir', `${TMP_PREFIX}m`), 2))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(pool.copy(job(join(dir, 'c-ok'), join(d, 'ok'), join(d, `${TMP_PREFIX}ok`), 2))).resolves.toMatchObject({ bytes: 2 });
      // A read failing once the destination is open (a directory opens, then refuses read): a new name
      // written in place is removed, an existing file keeps what it held (the copy went to the temporary name).
      await expect(pool.copy(job(d, join(d, 'new'), join(d, `${TMP_PREFIX}new`), 2))).rejects.toMatchObject({ code: 'EISDIR' });
      await expect(pool.copy(job(d, join(d, 'ok'), join(d, `${TMP_PREFIX}ok2`), 2))).rejects.toMatchObject({ code: 'EISDIR' });
      expect(await readFile(join(d, 'ok'), 'utf8')).toBe('ok');
      expect(pool.started).toBe(mode === 'inline' ? 0 : 1);
    } finally { await pool.close(); }
    expect(await readdir(d)).toEqual(['ok']);
  });
});

describe('CopyPool.plan', () => {
  it('a copy past the inline bounds starts its workers; one within them starts none', () => {
    const small = new CopyPool(1), many = new CopyPool(1), big = new CopyPool(1);
    try {
      small.plan(INLINE_FILES, INLINE_BYTES); many.plan(INLINE_FILES + 1, 0); big.plan(1, INLINE_BYTES + 1);
      small.warm(); // a copy planned inline stays inline
      expect([small.started, many.started, big.started]).toEqual([0, 1, 1]);
    } finally { void small.close(); void many.close(); void big.close(); }
  });
});

describe('poolSize', () => {
  it('one worker per core, at most the files in flight and MAX_WORKERS; the store\'s copyWorkers when set (still at most the files in flight)', () => {
    expect(poolSize(64)).toBe(Math.min(availableParallelism(), MAX_WORKERS));
    expect(poolSize(1)).toBe(1);
    expect(poolSize(8, 1)).toBe(1);
    expect(poolSize(8, 6)).toBe(6);
    expect(poolSize(2, 6)).toBe(2);
  });
});

describe('copyToBind with copy workers: a killed run\'s temporary files', () => {
  it('are extras to the next run: removed, and the target verifies', async () => {
    const s = join(dir, 'k-src'), d = join(dir, 'k-dst'), art = join(dir, 'k-art');
    await mkdir(join(s, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(s, 'a', i % 2 ? 'b' : '', `f${i}`), `body ${i}`.repeat(i * 50));
    const r = await exportTree({ storeId: 'k', root: s, artifactDir: art, normalize: 'none', concurrency: 2 });
    const owner = { uid: 10001, gid: 10001 };
    const opts = { sourceRoot: s, manifest: r.manifest, targetRoot: d, owner, normalize: 'none' as const, concurrency: 2, progressFile: join(dir, 'k-progress.json') };
    expect((await copyToBind(opts)).copied).toBe(40);
    // What a SIGKILL leaves mid-write: a partial under a temporary name beside its destination.
    await writeFile(join(d, 'a', 'b', `${TMP_PREFIX}4242-7`), 'partial');
    await writeFile(join(d, 'a', `${TMP_PREFIX}4242-8`), '');
    const again = await copyToBind(opts);
    expect([...again.removed].sort()).toEqual([`a/${TMP_PREFIX}4242-8`, `a/b/${TMP_PREFIX}4242-7`]);
    expect((await readdir(join(d, 'a', 'b'))).filter((n) => n.startsWith(TMP_PREFIX))).toEqual([]);
    const report = await compareManifests(byTargetPath(r.manifest, 'none', art), targetManifest({ kind: 'bind', root: d }), { owner });
    expect(report.flatMap((e) => e.findings ?? [])).toEqual([]);
  });
});
