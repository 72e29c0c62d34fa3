import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMPORT_LOG, openLog } from '../../../../lib/engines/postgres/import-log.ts';

const dirs: string[] = [];
const tmp = async () => { const d = await mkdtemp(join(tmpdir(), 'ferry-pg-log-')); dirs.push(d); return d; };
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

describe('postgres import log', () => {
  it('resumes the same export; carries the schema units of an unfinished import of the same schema over to another export, never its chunks', async () => {
    const dir = await tmp();
    const a = await openLog(dir, 'snap-1 t1', 'pre1 post1');
    expect(a.resumed).toBe(false);
    for (const u of ['begin', 'pre', 'chunk data/public/a.00000.copy', 'post 3', 'analyze "public"."a"']) await a.add(u);
    const again = await openLog(dir, 'snap-1 t1', 'pre1 post1');
    expect(again).toMatchObject({ resumed: true });
    expect(again.has('chunk data/public/a.00000.copy')).toBe(true);
    // A streaming export killed mid-way, exported again (another snapshot), same schema.
    const next = await openLog(dir, 'snap-2 t2', 'pre1 post1');
    expect(next.resumed).toBe(true);
    expect(['begin', 'pre', 'post 3'].every((u) => next.has(u))).toBe(true);
    expect(next.has('chunk data/public/a.00000.copy')).toBe(false);
    expect(next.has('analyze "public"."a"')).toBe(false);
    expect((await readFile(join(dir, IMPORT_LOG), 'utf8')).split('\n').slice(0, 2)).toEqual(['export snap-2 t2', 'schema pre1 post1']);
  });

  it('starts over for another schema, a finished import, or when told to', async () => {
    const dir = await tmp();
    const a = await openLog(dir, 'snap-1 t1', 'pre1 post1');
    await a.add('begin');
    await a.add('pre');
    expect((await openLog(dir, 'snap-2 t2', 'pre2 post1')).resumed).toBe(false);
    const b = await openLog(dir, 'snap-3 t3', 'pre1 post1');
    expect(b.resumed).toBe(false); // the log was started over for snap-2 (nothing begun there)
    await b.add('begin');
    await b.add('done');
    expect((await openLog(dir, 'snap-4 t4', 'pre1 post1')).resumed).toBe(false);
    const c = await openLog(dir, 'snap-4 t4', 'pre1 post1');
    await c.add('begin');
    expect((await openLog(dir, 'snap-4 t4', 'pre1 post1', { fresh: true })).resumed).toBe(false);
  });
});
