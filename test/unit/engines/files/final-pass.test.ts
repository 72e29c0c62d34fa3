/**
 * The files engine following (issue 16) on real directories (a bind-mount target, no Docker): the bulk
 * copy before the freeze is the base, follow records it, verifyPinned compares the target with it while
 * the tree moves on, and catch-up's final pass copies only what changed since (new, rewritten, deleted),
 * leaving the target equal to the tree; a pass over budget is E_FOLLOW_BUDGET.
 */
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineParams, FollowStatus } from '../../../../lib/core/engine.ts';
import type { FinalPass } from '../../../../lib/engines/files/freeze.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';
import { silentLogger } from '../../../../lib/core/logger.ts';
import { noProgress } from '../../../../lib/core/progress.ts';
import { filesEngine } from '../../../../lib/engines/files/engine.ts';
import type { FilesOptions } from '../../../../lib/engines/files/options.ts';
import { Redactor } from '../../../../lib/util/redact.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-final-pass-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

function params(): EngineParams<FilesOptions> {
  const { uid, gid } = userInfo();
  return {
    store: { id: 'uploads', engine: 'files', source: join(dir, 'src'), target: { service: 'web', hostPath: join(dir, 'dst') }, options: filesEngine.parseOptions({ owner: `${uid}:${gid}`, quietWindowMs: 0 }, 'uploads') },
    targetUrl: join(dir, 'dst'), artifactDir: join(dir, 'artifacts'), stateDir: join(dir, 'state'),
    signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: new Redactor(),
  };
}

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
});
