/**
 * The files engine following (issue 16) on real directories (a bind-mount target, no Docker): the bulk
 * copy before the freeze is the base, follow records it, verifyPinned compares the target with it while
 * the tree moves on, and catch-up's final pass copies only what changed since (new, rewritten, deleted),
 * leaving the target equal to the tree; a pass over budget is E_FOLLOW_BUDGET.
 */
import { appendFile, link, lstat, mkdir, mkdtemp, readFile, readdir, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineParams, FollowStatus } from '../../../../lib/core/engine.ts';
import type { FinalPass } from '../../../../lib/engines/files/freeze.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';
import { filesEngine } from '../../../../lib/engines/files/engine.ts';
import { readScope } from '../../../../lib/engines/files/copied.ts';
import type { FilesOptions } from '../../../../lib/engines/files/options.ts';
import { bindParams } from './bind-params.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-final-pass-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const params = (): EngineParams<FilesOptions> => bindParams(dir);

/** What catch-up's final pass moved (the files engine's catch-up status carries it). */
const passOf = (s: FollowStatus) => (s as FollowStatus & { finalPass: FinalPass }).finalPass;

const put = async (rel: string, text: string) => { await mkdir(join(dir, 'src', rel, '..'), { recursive: true }); await writeFile(join(dir, 'src', rel), text); };

describe('files: bulk copy before the freeze, final pass of what changed inside it', () => {
  it('follows from the bulk copy, verifies against it while the tree moves, and the final pass copies only the changes', async () => {
    for (let i = 0; i < 30; i++) await put(`img/${i}.jpg`, `image ${i}`.repeat(50));
    const p = params();
    await filesEngine.export(p);
    await filesEngine.import(p);
    expect(await filesEngine.followStatus!(p)).toMatchObject({ following: false });
    expect(await filesEngine.follow!(p)).toMatchObject({ following: true, lag: 0 });

    // The app keeps writing on the host: a new file, one rewritten (another size), one deleted.
    await put('img/new.jpg', 'fresh');
    await put('img/3.jpg', 'rewritten');
    await unlink(join(dir, 'src', 'img', '7.jpg'));
    expect(await filesEngine.followStatus!(p)).toMatchObject({ following: true, lag: 1 });
    // The pin is the bulk copy: the target still equals it.
    expect((await filesEngine.verifyPinned!(p)).ok).toBe(true);

    const s = await filesEngine.catchUp!(p, 60_000);
    expect(s).toMatchObject({ following: true, lag: 0 });
    expect(passOf(s)).toMatchObject({ files: 2, removed: 1 });
    expect(await readFile(join(dir, 'dst', 'img', '3.jpg'), 'utf8')).toBe('rewritten');
    expect(await readFile(join(dir, 'dst', 'img', 'new.jpg'), 'utf8')).toBe('fresh');
    await expect(readFile(join(dir, 'dst', 'img', '7.jpg'))).rejects.toMatchObject({ code: 'ENOENT' });
    // verify (the playbook's, after cutover) compares with the final manifest: equal.
    expect((await filesEngine.verify(p)).ok).toBe(true);
    // Run again (a resumed migrate): nothing left to copy; promote and abort remove nothing on the source.
    expect(passOf(await filesEngine.catchUp!(p, 60_000)).files).toBe(0);
    await filesEngine.promote!(p);
    expect(await readFile(join(dir, 'src', 'img', 'new.jpg'), 'utf8')).toBe('fresh');
  });

  it('a final pass over its budget is E_FOLLOW_BUDGET: the freeze is lifted and migrate runs it again', async () => {
    for (let i = 0; i < 400; i++) await put(`img/${i}.jpg`, `image ${i}`);
    const p = params();
    await filesEngine.export(p);
    await filesEngine.import(p);
    await filesEngine.follow!(p);
    for (let i = 0; i < 400; i++) await put(`img/${i}.jpg`, `changed ${i} `.repeat(20));
    const e = await filesEngine.catchUp!(p, 1).then(() => undefined, (x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_FOLLOW_BUDGET');
    expect(isFerryError(e) && e.hint).toContain('run migrate again');
    expect(passOf(await filesEngine.catchUp!(p, 60_000)).files).toBeGreaterThan(0);
    expect((await filesEngine.verify(p)).ok).toBe(true);
  });

  it('narrowed: the final pass re-reads and lists only the directories that changed, and catches new, rewritten, deleted files and new subtrees', async () => {
    for (let d = 0; d < 6; d++) for (let i = 0; i < 20; i++) await put(`img/${d}/${i}.jpg`, `image ${d}/${i}`.repeat(30));
    await put('img/gone/a/x.jpg', 'x');
    await put('img/empties/only.jpg', 'only');
    await put('img/swap', 'a file that becomes a directory');
    await put('img/links/a.jpg', 'linked');
    await mkdir(join(dir, 'src/img/links2'));
    await link(join(dir, 'src/img/links/a.jpg'), join(dir, 'src/img/links2/b.jpg')); // a hard link the changes do not touch
    // Past the kernel tick of the link: a change in the first export's stamp tick counts as after it, so the
    // final pass's ctime scan would print the linked file (and go to the whole walk) and the first export's
    // quick scan, run beside its walk, would not be kept.
    await sleep(50);
    const p = params();
    await filesEngine.export(p);
    await filesEngine.import(p);
    await filesEngine.follow!(p);

    await put('img/1/new.jpg', 'fresh');                     // new file
    await put('img/2/3.jpg', 'rewritten, another size');      // rewritten
    await writeFile(join(dir, 'src/img/4/5.jpg'), 'image 4/5'.repeat(30).replace('i', 'I')); // same size, new bytes
    await utimes(join(dir, 'src/img/4/5.jpg'), 1_800_000_000, 1_800_000_000);
    await unlink(join(dir, 'src', 'img', '5', '7.jpg'));     // deleted
    await put('img/new/deep/er/z.jpg', 'in a new subtree');   // files in new directories (created at once)
    await rm(join(dir, 'src/img/gone'), { recursive: true }); // a directory and its subtree gone
    await unlink(join(dir, 'src/img/empties/only.jpg'));      // a directory left empty
    await unlink(join(dir, 'src/img/swap'));
    await put('img/swap/inside.jpg', 'now a directory');      // a file replaced by a directory

    const s = await filesEngine.catchUp!(p, 60_000);
    // Only the changed directories were re-read: img/0, img/3 untouched are not in the scope.
    const scope = await readScope(p.stateDir);
    expect(scope?.dirs.length).toBeGreaterThan(0);
    expect(scope?.dirs).not.toContain('img/0');
    expect(scope?.dirs).not.toContain('img/3');
    expect(scope?.dirs).not.toContain('img/links');
    expect(scope?.dirs).toEqual(expect.arrayContaining(['img', 'img/1', 'img/2', 'img/4', 'img/5', 'img/new/deep/er', 'img/gone/a', 'img/empties']));
    expect(passOf(s)).toMatchObject({ files: 5 }); // new, rewritten, same size with new bytes, two in new directories
    const dst = (rel: string) => readFile(join(dir, 'dst', rel), 'utf8');
    expect(await dst('img/1/new.jpg')).toBe('fresh');
    expect(await dst('img/2/3.jpg')).toBe('rewritten, another size');
    expect(await dst('img/4/5.jpg')).toBe('image 4/5'.repeat(30).replace('i', 'I'));
    expect(await dst('img/new/deep/er/z.jpg')).toBe('in a new subtree');
    expect(await dst('img/swap/inside.jpg')).toBe('now a directory');
    await expect(dst('img/5/7.jpg')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readdir(join(dir, 'dst/img/gone'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(dir, 'dst/img/empties'))).toEqual([]);
    // The whole comparison (every file hashed on the target) agrees with the narrowed manifest.
    expect((await filesEngine.verify(p)).ok).toBe(true);

    // A change to a linked inode dirties both its directories; the re-read meets the link: the whole walk.
    await appendFile(join(dir, 'src/img/links/a.jpg'), ' and edited');
    const again = await filesEngine.catchUp!(p, 60_000);
    expect(await readScope(p.stateDir)).toBeUndefined();
    expect(passOf(again).files).toBe(2); // the file and its other name, linked again to the new copy
    const [a, b] = [await lstat(join(dir, 'dst/img/links/a.jpg')), await lstat(join(dir, 'dst/img/links2/b.jpg'))];
    expect(b.ino).toBe(a.ino);
    expect(await dst('img/links2/b.jpg')).toBe('linked and edited');
    expect((await filesEngine.verify(p)).ok).toBe(true);
  });

  it('narrowed: the scope\'s part of the manifest is named by the manifest it is cut from (a later pass in the same directory cuts its own, the last replaced); the delta holds only what changed in a re-read directory', async () => {
    for (let i = 0; i < 40; i++) await put(`img/a/${i}.jpg`, `image ${i}`.repeat(20));
    await put('img/b/keep.jpg', 'kept');
    const p = params();
    await filesEngine.export(p);
    await filesEngine.import(p);
    await filesEngine.follow!(p);
    const parts = async () => (await readdir(p.artifactDir)).filter((n) => n.startsWith('scope-'));

    await put('img/a/new.jpg', 'fresh');
    await put('img/a/3.jpg', 'rewritten');
    expect(passOf(await filesEngine.catchUp!(p, 60_000))).toMatchObject({ files: 2, removed: 0 });
    const first = await parts();
    expect(first).toHaveLength(1);
    // The delta holds only what changed in img/a (its 39 other files stayed in the base as they were).
    const delta = (await readFile(join(p.artifactDir, 'manifest.ndjson.delta'), 'utf8')).trim().split('\n').slice(1);
    expect(delta.map((l) => (JSON.parse(l) as { p: string }).p).sort()).toEqual(['img/a', 'img/a/3.jpg', 'img/a/new.jpg']);
    // The copy's hash log holds the hashes the manifest lacks (the two files sent), not the directory's others.
    const logged = (await readFile(join(p.artifactDir, 'hashes.ndjson'), 'utf8')).trim().split('\n');
    expect(logged.map((l) => (JSON.parse(l) as { p: string }).p).sort()).toEqual(['img/a/3.jpg', 'img/a/new.jpg']);
    expect((await filesEngine.verify(p)).ok).toBe(true);

    // Another change in the same directory: the manifest read differs, so does its part (the last one is replaced).
    await put('img/a/new.jpg', 'fresh again, longer');
    await unlink(join(dir, 'src/img/a/5.jpg'));
    expect(passOf(await filesEngine.catchUp!(p, 60_000))).toMatchObject({ files: 1, removed: 1 });
    const second = await parts();
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect(await readFile(join(dir, 'dst/img/a/new.jpg'), 'utf8')).toBe('fresh again, longer');
    await expect(readFile(join(dir, 'dst/img/a/5.jpg'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await filesEngine.verify(p)).ok).toBe(true);
  });

  it('narrowed only from a recorded complete copy: after a failed verify (or a resumed run without one) the pass lists the whole target and repairs it', async () => {
    for (let d = 0; d < 4; d++) for (let i = 0; i < 10; i++) await put(`img/${d}/${i}.jpg`, `image ${d}/${i}`);
    const p = params();
    await filesEngine.export(p);
    await filesEngine.import(p);
    await filesEngine.follow!(p);
    // The target is damaged outside any directory the source changes in; the source changes in img/1.
    await writeFile(join(dir, 'dst/img/0/0.jpg'), 'damaged');
    await put('img/1/new.jpg', 'fresh');
    // The narrowed pass trusts the recorded copy: it lists img/1 only and leaves img/0 as it is.
    await filesEngine.catchUp!(p, 60_000);
    expect(await readFile(join(dir, 'dst/img/0/0.jpg'), 'utf8')).toBe('damaged');
    // verify compares everything, names the damage and drops the record and the scope.
    const v = await filesEngine.verify(p);
    expect(v.ok).toBe(false);
    expect(v.entries.flatMap((e) => e.findings ?? []).join('\n')).toContain('img/0/0.jpg');
    expect(await readScope(p.stateDir)).toBeUndefined();
    // The next pass (as a resumed migrate runs it) lists the whole target and repairs it.
    await put('img/2/new.jpg', 'fresh too');
    const s = await filesEngine.catchUp!(p, 60_000);
    expect(await readScope(p.stateDir)).toBeUndefined();
    expect(passOf(s).files).toBe(2);
    expect(await readFile(join(dir, 'dst/img/0/0.jpg'), 'utf8')).toBe('image 0/0');
    expect((await filesEngine.verify(p)).ok).toBe(true);
  });
});
