/**
 * The delta pass of an unchanged tree, as a new process runs it (the bench's `delta`): it loads only
 * what that pass needs. zod, the walk, the hash log, the helper container, the follow phases, the
 * listing again and node:crypto load where a change or another phase needs them; a static import of
 * any of them puts its load time back on every delta pass (zod alone was half of it).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindParams } from './bind-params.ts';
import { filesEngine } from '../../../../lib/engines/files/engine.ts';

const lib = (rel: string) => new URL(`../../../../lib/${rel}`, import.meta.url).href;

// The child: records every module it loads (a load hook registered before the engine is imported), runs
// export then import with the options as parsed by this process, prints the data and what it loaded.
const CHILD = `
import { registerHooks } from 'node:module';
const modules = [];
registerHooks({ load(url, ctx, next) { modules.push(url); return next(url, ctx); } });
const builtins = new Set(process.moduleLoadList);
const { filesEngine } = await import(${JSON.stringify(lib('engines/files/engine.ts'))});
const { silentLogger } = await import(${JSON.stringify(lib('core/logger.ts'))});
const { noProgress } = await import(${JSON.stringify(lib('core/progress.ts'))});
const p = { ...JSON.parse(process.env.DELTA_PARAMS), signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: { add() {}, redact: (s) => s } };
const ex = await filesEngine.export(p);
const im = await filesEngine.import(p);
process.stdout.write(JSON.stringify({ ex: ex.data, im: im.data, modules, builtins: process.moduleLoadList.filter((m) => !builtins.has(m)) }));
`;

interface ChildRun { ex: Record<string, unknown>; im: Record<string, unknown>; modules: string[]; builtins: string[] }

async function deltaInNewProcess(p: ReturnType<typeof bindParams>): Promise<ChildRun> {
  const { signal: _s, log: _l, progress: _p, redactor: _r, ...plain } = p;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], { env: { ...process.env, DELTA_PARAMS: JSON.stringify(plain) } });
  return JSON.parse(stdout) as ChildRun;
}

/** Modules an unchanged tree's pass never needs. */
const NOT_NEEDED = ['/node_modules/zod/', '/files/walk.ts', '/files/hash.ts', '/files/hashes.ts', '/files/helper.ts', '/files/freeze.ts', '/files/narrow.ts', '/files/quick-scan.ts', '/files/ctime-rescan.ts', '/files/copy-bind.ts', '/files/volume-list.ts'];
const loadedOf = (r: ChildRun) => NOT_NEEDED.filter((m) => r.modules.some((u) => u.includes(m)));

describe('the delta pass in a new process', () => {
  let dir: string;
  let p: ReturnType<typeof bindParams>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-delta-modules-'));
    p = bindParams(dir);
    for (const d of ['a', 'b/c']) await mkdir(join(dir, 'src', d), { recursive: true });
    for (const [f, body] of [['a/1.jpg', 'one'], ['b/2.jpg', 'two'], ['b/c/3.jpg', 'three']]) await writeFile(join(dir, 'src', f!), body!);
    await new Promise((r) => setTimeout(r, 20));
    await filesEngine.export(p);
    await filesEngine.import(p);
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('of an unchanged tree: proven by the ctime scan, nothing copied, and none of zod, the walk, the hash log, the helper, the follow phases or node:crypto loaded', async () => {
    const r = await deltaInNewProcess(p);
    expect(r.ex).toMatchObject({ scan: 'ctime', changed: 0 });
    expect(r.im).toMatchObject({ copied: 0, unchanged: true });
    expect(r.modules.some((u) => u.endsWith('/files/ctime-scan.ts'))).toBe(true);
    expect(loadedOf(r)).toEqual([]);
    expect(r.builtins).not.toContain('NativeModule crypto');
  });

  it('after a change: the listing again, the merge and the copy load, and the changed file is copied', async () => {
    await writeFile(join(dir, 'src/b/c/3.jpg'), 'three, edited');
    const r = await deltaInNewProcess(p);
    expect(r.ex).toMatchObject({ scan: 'ctime' });
    expect(r.ex.changed).toBeGreaterThan(0);
    expect(r.im).toMatchObject({ copied: 1 });
    expect(loadedOf(r)).toEqual(expect.arrayContaining(['/files/walk.ts', '/files/narrow.ts', '/files/ctime-rescan.ts', '/files/copy-bind.ts']));
  });
});
