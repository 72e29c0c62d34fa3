/**
 * Files bench: `npm run bench -- --engine files --scale N --json`. The deterministic tree of
 * fixtures/files (scale N ≈ N × 1,000 small "images" + N files of 8 MiB + the awkward cases; scale 100
 * ≈ 100k files, ≈ 4 GB) is copied into a fresh host directory by each tool, then verified against the
 * source's manifest (not timed):
 *   copy    ferry (export = the manifest, stat only, and into the empty target the copy as it walks,
 *           every file hashed from the bytes it copies; then the import, which finds the copy complete),
 *           ferry-volume (the same into a named volume through the helper's tar stream),
 *           `tar -cS | tar -x`, `rsync -aHS` (peers with their sparse and hard-link flags: ferry keeps both);
 *           each starts after an untimed `sync`, and the `sync` after it is timed (syncS; durableS = seconds + syncS);
 *           `ferry-1w` (only when named in --tools) is ferry's copy alone with one copy worker (ferry: one per core),
 *           `ferry-2step` (the same) the export then the import's copy (ferry: the copy as the export walks)
 *   delta   the same command again on the unchanged tree, each a new process, the median of 3 runs in a row
 *           (DELTA_RUNS; `runs` lists each): ferry (export = the ctime
 *           scan, `find -newercm` printing nothing, one per core on a large tree, + import of an
 *           already-copied manifest; the child reports nodeStartS (node up to its first line), modulesS
 *           (ferry's imports: the engine's; zod is not among them, the options come parsed), passS) vs `rsync -aHS`; `node -e 0` is measured
 *           apart (tool node, phase start). Children start with NODE_COMPILE_CACHE (see COMPILE_CACHE)
 *   verify  ferry's verify (the target hashed, compared with the manifest) vs `sha256sum` over the tree
 *   final   the final pass as migrate runs it inside the freeze (in-process: follow and the pinned verify,
 *           untimed, then catchUp after the bulk copy,
 *           `seconds` is the pass alone, `childSeconds` with node's start; `inFreezeS` the store's whole
 *           share of the freeze: its quiet proof `freezeS`, prove-quiet's `sourceStateS`, the pass) after a few changes (a new file,
 *           a rewritten one, a deleted one, a new subtree of 3 files) vs `rsync -aHS --delete` of the same
 *           changes; the changes are undone (bytes, mtimes) before the next tool
 * `delta vs rsync` and `final vs rsync` lines give rsync's seconds over ferry's (> 1: ferry faster) and
 * the same by CPU seconds (toolCpuS: user + system of the process and the children it waited for,
 * less sensitive to the shared machine's load, loadAvg on every line).
 * Every tool runs as a child under /usr/bin/time (peak RSS = its process tree's maxRSS). Every copy
 * starts with the same memory (sameMemory): the clean page cache dropped, the source read back into it.
 * Every copy goes to a directory of its own, all removed at the end (ext4 reuses the inodes of a tree
 * just deleted slowly: deleting each copy before the next tool ran made the order decide the times);
 * at scale 100 with --repeat 2 that is ≈ 33 GB of disk. The cause, on an ext4 without a journal (this
 * machine's root): each new inode's allocation skips, one by one under the directory's lock, every free
 * inode of its group deleted in the last 60 s (300 s while its inode table block is dirty: the kernel's
 * recently_deleted()), so creating files within ~5 minutes of deleting a large tree anywhere on that
 * filesystem cost 2-10 times the CPU (perf: recently_deleted and find_get_block under ext4_create). Start
 * a files bench at least 5 minutes after deleting a large tree there (a previous bench's work directory).
 * FERRY_BENCH_CPU_PROF=<dir> runs ferry's children with `node --cpu-prof --cpu-prof-dir <dir>` (a
 * profile per child); FERRY_BENCH_STRACE=<dir> runs them under `strace -c -f` (a syscall summary per child).
 */
import { mkdir, mkdtemp, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineBench } from './types.ts';
import type { EngineParams } from '../lib/core/engine.ts';
import type { FilesOptions } from '../lib/engines/files/options.ts';

// Node's compile cache (V8 code and the stripped TypeScript, in the OS temp dir): a child's start is
// ~0.2 s instead of ~0.6 s once warm. Enabled before ferry's modules load (they are imported below); a
// child has it from NODE_COMPILE_CACHE (see COMPILE_CACHE) and does not load node:module for it.
if (!process.env.NODE_COMPILE_CACHE) process.getBuiltinModule('node:module').enableCompileCache?.();
const startedS = performance.now() / 1000; // node's own start-up, up to this module's first line
// The engine alone, as ferry's engine registry loads it (lib/engines/index.ts): what a pass does not use loads lazily.
const { filesEngine } = await import('../lib/engines/files/engine.ts');
const { silentLogger } = await import('../lib/core/logger.ts');
const { noProgress } = await import('../lib/core/progress.ts');

const TOOLS = ['ferry', 'ferry-volume', 'tar-pipe', 'rsync'] as const;
/**
 * Run only when named in --tools: `ferry-1w`, the first copy alone with one copy worker (options.copyWorkers 1;
 * `ferry` has one per core); `ferry-2step`, the export then the import's copy (options.copyDuringExport
 * false; `ferry` copies as its export walks), for alternating runs of the two in one invocation.
 */
const NAMED_ONLY = ['ferry-1w', 'ferry-2step'] as const;

/** A child's work; `options` parsed by the parent (as ferry's config layer hands an engine its store's options, validated once). */
interface Job { readonly action: 'copy' | 'verify' | 'final'; readonly src: string; readonly dst: string; readonly volume?: string; readonly work: string; readonly options: FilesOptions }

function params(job: Job): EngineParams<FilesOptions> {
  const target = job.volume ? { service: 'app', volume: job.volume } : { service: 'app', hostPath: job.dst };
  return {
    store: { id: 'bench', engine: 'files', source: job.src, target, options: job.options },
    targetUrl: undefined, artifactDir: join(job.work, 'artifacts'), stateDir: join(job.work, 'state'),
    signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: { add() {}, redact: (s: string) => s },
  };
}

if (process.env.FERRY_BENCH_CHILD) {
  const job = JSON.parse(process.env.FERRY_BENCH_CHILD) as Job;
  const p = params(job);
  const t0 = performance.now();
  const boot = { nodeStartS: Number(startedS.toFixed(3)), modulesS: Number((t0 / 1000 - startedS).toFixed(3)) };
  let detail: Record<string, unknown>;
  if (job.action === 'copy') {
    const ex = await filesEngine.export(p);
    const t1 = performance.now();
    const im = await filesEngine.import(p);
    detail = {
      passS: Number(((performance.now() - t0) / 1000).toFixed(3)), exportS: Number(((t1 - t0) / 1000).toFixed(3)), importS: Number(((performance.now() - t1) / 1000).toFixed(3)),
      // Into an empty bind target the export copies as it walks (streamed) and the import finds it done.
      ...(ex.data.streamed ? { streamed: true, copied: (ex.data.streamed as { copied: number }).copied, bytesCopied: (ex.data.streamed as { bytes: number }).bytes } : { copied: im.data.copied, bytesCopied: im.data.bytes }),
      manifestFiles: ex.data.files, scan: ex.data.scan, ...(ex.data.fallback ? { fallback: ex.data.fallback } : {}),
    };
  } else if (job.action === 'final') {
    // As migrate runs the store inside the freeze: its quiet proof (freeze:<store>; the parent waited a
    // window since the changes, so one scan proves it), the fingerprint prove-quiet records (sourceState),
    // then the final pass (catch-up), with the state on disk that the bulk copy left. Untimed before it, as
    // migrate runs them before the freeze: follow (the bulk copy recorded as the pass's base) and the
    // pinned verify (after which a volume's session container for the pass starts: helper.ts holdHelperSession).
    const before = performance.now();
    await filesEngine.follow!(p);
    await filesEngine.verifyPinned!(p);
    // In migrate other steps run between (compose-precreate, stop-writers): the session's start is done by the freeze.
    await (await import('../lib/engines/files/helper.ts')).heldSessionsStarted();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const untimedS = Number(((t0 - before) / 1000).toFixed(3));
    const freeze = await filesEngine.freeze!(p);
    const t1 = performance.now();
    await filesEngine.sourceState!(p);
    const t2 = performance.now();
    const s = await filesEngine.catchUp!(p, 600_000) as unknown as { finalPass: Record<string, unknown> };
    const t3 = performance.now();
    const f = s.finalPass;
    const sec = (a: number, b: number) => Number(((b - a) / 1000).toFixed(3));
    detail = {
      passS: sec(t2, t3), freezeS: sec(t0, t1), freezeProof: (freeze as { proof?: string }).proof, sourceStateS: sec(t1, t2), inFreezeS: sec(t0, t3),
      passFiles: f.files, passBytes: f.bytes, passRemoved: f.removed, untimedS,
      // This process's CPU from the freeze on (not the untimed part; a CLI child it ran is not in it).
      timedCpuS: Number((((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0))).toFixed(2)),
    };
  } else {
    const v = await filesEngine.verify(p);
    detail = { ok: v.ok };
  }
  process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t0) / 1000, detail: { ...detail, ...boot } })}\n`);
  process.exit(0);
}

// The parent's own modules are loaded only in the parent: a child's time is the engine's (and node's start).
const { execa } = await import('execa');
const { compareManifests, byTargetPath, targetManifest, MANIFEST_FILE, writeManifest, walkTree, emptyScanReport } = await import('../lib/engines/files/index.ts');
const { generateTree } = await import('../fixtures/files/tree.ts');

/**
 * Run argv under /usr/bin/time; seconds, peak RSS (MB) and CPU seconds (user + system, the process and
 * the children it waited for: find, the docker client; not a helper container's) of its process tree,
 * with the 1-minute load average when it ended (the machine is shared: compare CPU, and ratios).
 */
async function timed(argv: string[], env: Record<string, string> = {}): Promise<{ seconds: number; peakRssMb: number; toolCpuS: number; loadAvg: number; stdout: string }> {
  const r = await execa('/usr/bin/time', ['-f', 'FERRY_TIME %e %M %U %S', ...argv], { env, reject: false });
  const m = /FERRY_TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.exitCode !== 0 || !m) throw new Error(`${argv.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), peakRssMb: Math.round(Number(m[2]) / 1024), toolCpuS: Number((Number(m[3]) + Number(m[4])).toFixed(2)), loadAvg: Number(loadavg()[0]!.toFixed(2)), stdout: r.stdout };
}
const cpuOf = (r: { toolCpuS: number; loadAvg: number }) => ({ toolCpuS: r.toolCpuS, loadAvg: r.loadAvg });

const node = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
const self = fileURLToPath(import.meta.url);
/** Set to a directory: ferry's children run with `node --cpu-prof --cpu-prof-dir <dir>` (a profile per child). */
const CPU_PROF = process.env.FERRY_BENCH_CPU_PROF;
/** Set to a directory: ferry's children run under `strace -c -f -o <dir>/<action>-<n>.txt` (syscall counts and time). */
const STRACE = process.env.FERRY_BENCH_STRACE;
let traced = 0;
// The child's own entry (this file) is stripped of its types before any line of it runs, so its
// enableCompileCache comes too late for it: without NODE_COMPILE_CACHE every child loaded amaro's wasm and
// stripped this file again (~0.05-0.09 s of a delta's ~0.3 s). The same directory enableCompileCache()
// uses by default, so the engine's modules hit the same cache either way.
const COMPILE_CACHE = process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'node-compile-cache');
const child = (job: Job) => timed([
  ...(STRACE ? ['strace', '-c', '-f', '-o', join(STRACE, `${job.action}-${traced++}.txt`)] : []),
  node, ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []), self,
], { FERRY_BENCH_CHILD: JSON.stringify(job), ...(process.env.NODE_DISABLE_COMPILE_CACHE ? {} : { NODE_COMPILE_CACHE: COMPILE_CACHE }) });

/**
 * The final pass's changes, made while "the app" writes before the freeze: a new image, one rewritten,
 * one deleted, a new subtree of 3 files. Returns their undo (bytes, mtimes of files and directories).
 */
async function change(src: string): Promise<() => Promise<void>> {
  const dir = join(src, 'storage/images/2022/03');
  const { readdir } = await import('node:fs/promises');
  const [a, b] = (await readdir(dir)).sort();
  const keep = async (p: string) => ({ p, data: await readFile(p).catch(() => undefined), st: await stat(p) });
  const saved = await Promise.all([join(dir, a!), join(dir, b!)].map(keep));
  const dirs = await Promise.all([dir, join(src, 'storage')].map(async (p) => ({ p, st: await stat(p) })));
  await writeFile(join(dir, 'final-new.jpg'), Buffer.alloc(4096, 1));
  await writeFile(saved[0]!.p, Buffer.concat([saved[0]!.data!, Buffer.from('edited')]));
  await unlink(saved[1]!.p);
  await mkdir(join(src, 'storage/final/a/b'), { recursive: true });
  for (const n of ['x', 'y', 'z']) await writeFile(join(src, 'storage/final/a/b', `${n}.jpg`), Buffer.alloc(2048, 2));
  return async () => {
    await rm(join(dir, 'final-new.jpg'), { force: true });
    await rm(join(src, 'storage/final'), { recursive: true, force: true });
    for (const f of saved) { await writeFile(f.p, f.data!); await utimes(f.p, f.st.atime, f.st.mtime); }
    for (const d of dirs) await utimes(d.p, d.st.atime, d.st.mtime);
  };
}

/**
 * A delta pass is short (ferry ~0.1 s, rsync ~0.4 s) and one scheduling hiccup on the shared machine
 * doubled single runs (rsync 0.44 then 0.81 s): each tool's delta runs DELTA_RUNS times in a row, the
 * median run is the figure (its CPU seconds and detail too), every run's seconds listed in `runs`.
 */
const DELTA_RUNS = 3;
async function medianOf<T extends { seconds: number }>(run: () => Promise<T>): Promise<T & { runs: number[] }> {
  const all: T[] = [];
  for (let i = 0; i < DELTA_RUNS; i++) all.push(await run());
  return { ...[...all].sort((a, b) => a.seconds - b.seconds)[DELTA_RUNS >> 1]!, runs: all.map((r) => r.seconds) };
}

/** Read every file of `src` (tar writing to /dev/null itself would skip the reads: GNU tar notices it). */
async function warm(src: string): Promise<void> {
  await execa('sh', ['-c', `tar -c -C '${src}' . | cat > /dev/null`]);
}

let dropNoted = false;
/**
 * Every copy starts with the same memory: the clean page cache dropped, then the source read back into
 * it. The copies are kept until the end, so at scale 100 the cache fills during the second repetition
 * (24 GiB: the source and four copies of 4.15 GB). Without this, ferry's copy in the second run took 40 %
 * more CPU-s than in the first (16.7 vs 11.9) while tar's and rsync's took less; with it, ferry's two runs
 * are within 2 % (12.2, 12.1 CPU-s; scale 100, --repeat 2).
 * Needs root (/proc/sys/vm/drop_caches); without it, said once, and the cache is left as it is.
 */
async function sameMemory(src: string): Promise<void> {
  try {
    await writeFile('/proc/sys/vm/drop_caches', '1');
  } catch {
    if (!dropNoted) process.stderr.write('files bench: cannot drop the page cache (not root): later copies may meet a full cache\n');
    dropNoted = true;
    return;
  }
  await warm(src);
}

/** `sync` (every filesystem's dirty pages to disk); its seconds. */
async function flush(): Promise<number> {
  const t = performance.now();
  await execa('sync');
  return round3((performance.now() - t) / 1000);
}
const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function verified(manifest: string, dst: string): Promise<boolean> {
  const entries = await compareManifests(byTargetPath(manifest, 'none'), targetManifest({ kind: 'bind', root: dst }));
  const bad = entries.flatMap((e) => e.findings ?? []);
  if (bad.length) process.stderr.write(`  differs: ${bad.slice(0, 5).join('; ')}\n`);
  return bad.length === 0;
}

export default (async (opts, emit) => {
  await (await import('./peers.ts')).ensurePeers([{ commands: ['rsync'], pkg: 'rsync' }, { commands: ['tar'], pkg: 'tar' }, { commands: ['sha256sum'], pkg: 'coreutils' }, { commands: ['/usr/bin/time'], pkg: 'time' }], 'install them yourself');
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-files-'));
  const volumes: string[] = [];
  try {
    const src = join(work, 'src');
    await mkdir(src);
    const t0 = performance.now();
    const g = await generateTree(src, opts.scale);
    process.stderr.write(`files bench: ${g.files} files, ${(g.bytes / 1e9).toFixed(2)} GB generated in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    await warm(src); // the page cache warm for everyone
    // The reference manifest, for checking every tool's result (untimed).
    const ref = join(work, 'ref');
    await mkdir(ref);
    const manifest = join(ref, MANIFEST_FILE);
    await writeManifest(manifest, walkTree(src, emptyScanReport(), { hash: true }));
    const base = { engine: 'files', files: g.files, bytes: g.bytes };
    const options = filesEngine.parseOptions({ helperImage: process.env.FERRY_BENCH_HELPER_IMAGE ?? (await import('../test/support/images.ts')).testImages().redis }, 'bench');
    // Node's own start-up (a bare `node -e 0`), apart from ferry's imports and pass (the children report those).
    for (let i = 0; i < 3; i++) { const n = await timed([node, '-e', '0']); emit({ ...base, tool: 'node', phase: 'start', label: 'node -e 0', seconds: n.seconds, peakRssMb: n.peakRssMb, verified: true, ...cpuOf(n) }); }
    for (let rep = 0; rep < opts.repeat; rep++) {
      const seen = new Map<string, { seconds: number; cpu: number }>();
      const note = (tool: string, phase: string, seconds: number, cpu: number) => { seen.set(`${tool} ${phase}`, { seconds, cpu }); };
      // In the order named (--tools ferry-1w,ferry,…: the two alternate within each repetition).
      const known: readonly string[] = [...TOOLS, ...NAMED_ONLY];
      for (const tool of opts.tools ? opts.tools.filter((t) => known.includes(t)) : TOOLS) {
        // A fresh directory per tool and repetition, all removed at the end: ext4 is slow to reuse the
        // inodes of 100k files just deleted (each new file scans past them: 22-40 % of a copy's CPU in a
        // perf profile), so deleting one tool's copy before the next tool's made the order decide.
        const dst = join(work, `dst-${tool}-${rep}`);
        const state = join(work, `state-${tool}-${rep}`);
        await mkdir(dst);
        let volume: string | undefined;
        if (tool === 'ferry-volume') {
          volume = `ferry-bench-files-${process.pid}-${rep}`;
          await execa('docker', ['volume', 'create', '--label', 'ferry.bench=files', volume]);
          volumes.push(volume);
        }
        const job: Job = { action: 'copy', src, dst, work: state, options, ...(volume ? { volume } : {}) };
        // Every copy starts with no dirty pages left by the one before (an untimed sync), and its own
        // writeback is timed after it (syncS; durableS = seconds + syncS: the copy on disk). None of the
        // tools syncs by itself, so without this the order decided who paid for the previous writeback.
        await flush();
        await sameMemory(src);
        if (tool === 'ferry-1w' || tool === 'ferry-2step') {
          const r = await child({ ...job, options: tool === 'ferry-1w' ? { ...options, copyWorkers: 1 } : { ...options, copyDuringExport: false } });
          const sync = await flush();
          const d = JSON.parse(r.stdout.trim().split('\n').pop()!) as { detail: Record<string, unknown> };
          emit({ ...base, tool, phase: 'copy', label: tool === 'ferry-1w' ? 'ferry with one copy worker' : 'ferry: the export, then the import\'s copy', seconds: r.seconds, syncS: sync, durableS: round3(r.seconds + sync), peakRssMb: r.peakRssMb, verified: await verified(manifest, dst), ...cpuOf(r), ...d.detail });
        } else if (tool === 'ferry' || tool === 'ferry-volume') {
          const r = await child(job);
          const sync = await flush();
          const d = JSON.parse(r.stdout.trim().split('\n').pop()!) as { detail: Record<string, unknown> };
          const ok = tool === 'ferry' ? await verified(manifest, dst) : (await child({ ...job, action: 'verify' })).stdout.includes('"ok":true');
          emit({ ...base, tool, phase: 'copy', seconds: r.seconds, syncS: sync, durableS: round3(r.seconds + sync), peakRssMb: r.peakRssMb, verified: ok, ...cpuOf(r), ...d.detail });
          const again = await medianOf(() => child(job));
          const d2 = JSON.parse(again.stdout.trim().split('\n').pop()!) as { detail: Record<string, unknown> };
          note(tool, 'delta', again.seconds, again.toolCpuS);
          emit({ ...base, tool, phase: 'delta', label: `the same command again on the unchanged tree, a new process (node start + import + pass), the median of ${DELTA_RUNS}`, seconds: again.seconds, runs: again.runs, peakRssMb: again.peakRssMb, verified: d2.detail.copied === 1 || d2.detail.copied === 0, ...cpuOf(again), ...d2.detail });
          const v = await child({ ...job, action: 'verify' });
          emit({ ...base, tool, phase: 'verify', seconds: v.seconds, peakRssMb: v.peakRssMb, verified: v.stdout.includes('"ok":true'), ...cpuOf(v) });
          const undo = await change(src);
          try {
            await new Promise((r) => setTimeout(r, options.quietWindowMs + 100)); // the app stopped a window ago: the freeze's one scan proves it
            const f = await child({ ...job, action: 'final' });
            const d3 = JSON.parse(f.stdout.trim().split('\n').pop()!) as { detail: Record<string, unknown> };
            const fv = await child({ ...job, action: 'verify' });
            note(tool, 'final', Number(d3.detail.passS), Number(d3.detail.timedCpuS ?? f.toolCpuS));
            emit({ ...base, tool, phase: 'final', label: 'the final pass in-process (catchUp after 5 changes; seconds: the pass; inFreezeS: the store\'s whole share of the freeze, its quiet proof + sourceState + the pass; childSeconds: with node start; untimedS: follow and the pinned verify before the freeze, as migrate runs them, in childSeconds\' process but not in it; toolCpuS includes them, timedCpuS not)', seconds: Number(d3.detail.passS), childSeconds: Number((f.seconds - Number(d3.detail.untimedS ?? 0)).toFixed(3)), peakRssMb: f.peakRssMb, verified: fv.stdout.includes('"ok":true'), ...cpuOf(f), ...d3.detail });
          } finally { await undo(); }
        } else if (tool === 'tar-pipe') {
          const r = await timed(['sh', '-c', `tar -c -S -C '${src}' . | tar -x -p -C '${dst}'`]);
          const sync = await flush();
          emit({ ...base, tool, phase: 'copy', seconds: r.seconds, syncS: sync, durableS: round3(r.seconds + sync), peakRssMb: r.peakRssMb, verified: await verified(manifest, dst), ...cpuOf(r) });
        } else {
          const r = await timed(['rsync', '-a', '-H', '-S', '--exclude=.DS_Store', '--exclude=._*', `${src}/`, `${dst}/`]);
          const sync = await flush();
          emit({ ...base, tool, phase: 'copy', seconds: r.seconds, syncS: sync, durableS: round3(r.seconds + sync), peakRssMb: r.peakRssMb, verified: await verified(manifest, dst), ...cpuOf(r) });
          const again = await medianOf(() => timed(['rsync', '-a', '-H', '-S', '--exclude=.DS_Store', '--exclude=._*', `${src}/`, `${dst}/`]));
          note(tool, 'delta', again.seconds, again.toolCpuS);
          emit({ ...base, tool, phase: 'delta', label: `rsync -aHS again on the unchanged tree, the median of ${DELTA_RUNS}`, seconds: again.seconds, runs: again.runs, peakRssMb: again.peakRssMb, verified: await verified(manifest, dst), ...cpuOf(again) });
          const undo = await change(src);
          try {
            const f = await timed(['rsync', '-a', '-H', '-S', '--delete', '--exclude=.DS_Store', '--exclude=._*', `${src}/`, `${dst}/`]);
            note(tool, 'final', f.seconds, f.toolCpuS);
            emit({ ...base, tool, phase: 'final', label: 'rsync -aHS --delete of the same 5 changes', seconds: f.seconds, peakRssMb: f.peakRssMb, verified: true, ...cpuOf(f) });
          } finally { await undo(); }
          await timed(['rsync', '-a', '-H', '-S', '--delete', '--exclude=.DS_Store', '--exclude=._*', `${src}/`, `${dst}/`]); // back to the tree the others copy
          const v = await timed(['sh', '-c', `cd '${dst}' && find . -type f -print0 | xargs -0 sha256sum > /dev/null`]);
          emit({ ...base, tool: 'sha256sum', phase: 'verify', seconds: v.seconds, peakRssMb: v.peakRssMb, verified: true, ...cpuOf(v) });
        }
      }
      // rsync's time over ferry's for the same pass (> 1: ferry faster), by wall clock and by CPU seconds.
      for (const phase of ['delta', 'final']) {
        const r = seen.get(`rsync ${phase}`);
        for (const tool of ['ferry', 'ferry-volume']) {
          const f = seen.get(`${tool} ${phase}`);
          if (!r || !f) continue;
          emit({ ...base, tool, phase: `${phase} vs rsync`, label: `rsync's ${phase} seconds ÷ ${tool}'s (${phase === 'delta' ? 'a new process each' : 'ferry in-process, rsync a new process'})`, seconds: f.seconds, peakRssMb: 0, verified: true, rsyncSeconds: r.seconds, ratio: Number((r.seconds / f.seconds).toFixed(2)), cpuRatio: Number((r.cpu / Math.max(f.cpu, 0.01)).toFixed(2)), loadAvg: Number(loadavg()[0]!.toFixed(2)) });
        }
      }
    }
  } finally {
    if (volumes.length) await execa('docker', ['volume', 'rm', '-f', ...volumes]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}) satisfies EngineBench;
