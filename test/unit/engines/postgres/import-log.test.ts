import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMPORT_LOG, openLog, schemaLine } from '../../../../lib/engines/postgres/import-log.ts';

const dirs: string[] = [];
const tmp = async () => { const d = await mkdtemp(join(tmpdir(), 'ferry-pg-log-')); dirs.push(d); return d; };
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });
const S1 = { pre: 'pre1', post: 'post1' };

describe('postgres import log', () => {
  it('resumes the same export; carries the schema units of an unfinished import of the same schema over to another export, never its chunks', async () => {
    const dir = await tmp();
    const a = await openLog(dir, 'snap-1 t1', S1);
    expect(a.resumed).toBe(false);
    for (const u of ['begin', 'pre', 'chunk data/public/a.00000.copy', 'post 3', 'analyze "public"."a"']) await a.add(u);
    const again = await openLog(dir, 'snap-1 t1', S1);
    expect(again).toMatchObject({ resumed: true });
    expect(again.has('chunk data/public/a.00000.copy')).toBe(true);
    // A streaming export killed mid-way, exported again (another snapshot), same schema.
    const next = await openLog(dir, 'snap-2 t2', S1);
    expect(next.resumed).toBe(true);
    expect(['begin', 'pre', 'post 3'].every((u) => next.has(u))).toBe(true);
    expect(next.has('chunk data/public/a.00000.copy')).toBe(false);
    expect(next.has('analyze "public"."a"')).toBe(false);
    expect((await readFile(join(dir, IMPORT_LOG), 'utf8')).split('\n').slice(0, 3)).toEqual(['export snap-2 t2', 'schema pre-data pre1', 'schema post-data post1']);
    // The same pre-data, another post-data: the database and its pre-data stand, no post-data unit does.
    const other = await openLog(dir, 'snap-3 t3', { pre: 'pre1', post: 'post2' });
    expect(other.resumed).toBe(true);
    expect(other.has('pre')).toBe(true);
    expect(other.has('post 3')).toBe(false);
  });

  it('a streaming export writes the schema lines as they come; starts over for another schema, a finished import, or when told to', async () => {
    const dir = await tmp();
    const s = await openLog(dir, 'snap-1 t1', undefined, { fresh: true });
    await s.add('begin');
    await s.add(schemaLine('pre-data', 'pre1'));
    await s.add('pre');
    await s.add(schemaLine('post-data', 'post1'));
    await s.add('post 2');
    const carried = await openLog(dir, 'snap-2 t2', S1);
    expect(['begin', 'pre', 'post 2'].every((u) => carried.has(u))).toBe(true);
    expect((await openLog(dir, 'snap-3 t3', { pre: 'pre2', post: 'post1' })).resumed).toBe(false);
    const b = await openLog(dir, 'snap-4 t4', S1);
    expect(b.resumed).toBe(false); // started over for snap-3 (nothing begun there)
    await b.add('begin');
    await b.add('done');
    expect((await openLog(dir, 'snap-5 t5', S1)).resumed).toBe(false);
    const c = await openLog(dir, 'snap-5 t5', S1);
    await c.add('begin');
    expect((await openLog(dir, 'snap-5 t5', S1, { fresh: true })).resumed).toBe(false);
  });
});
