/**
 * The calling thread's young generation held at its size while a pass walks or copies a tree. V8 grows
 * the young generation (new space) by `--semi-space-growth-factor` (2) whenever the bytes that survived
 * scavenges since the last growth exceed its capacity: a running total, so a long enough stream of
 * entries grows it to its maximum whatever its live set. A first copy of 100k files (scale 100) took the
 * main thread's new space 8 -> 64 MB in the export's walk and -> 128 MB in the copy (32 MB at scale 20:
 * the process's RSS grew with the file count), while its live heap after each mark-compact stayed at
 * 11-24 MB at both scales. The main thread's limits cannot be set once it runs (a worker's come from
 * `resourceLimits`, as the copy pool's and the verify's do), but V8 reads the growth factor when it grows:
 * at 1 the new space stays the size it has. Measured (scale 100, bench child, 2 copy workers): peak RSS
 * 231-247 MB -> 155-197 MB, CPU no higher (a scavenge of a small new space is short; see the commit).
 *
 * The flag is process-wide: while a pass runs, other work of the process keeps its new space too (it
 * only scavenges more often); the default (2) is put back when the last pass ends. A node started with
 * its own `--semi-space-growth-factor` (node flags or NODE_OPTIONS) is left as it was.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--semi-space-growth-factor';
/** V8's default growth factor, restored after the last pass. */
const DEFAULT_FACTOR = 2;

let active = 0;

function userSet(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith(FLAG) || a.startsWith('--semi_space_growth_factor'));
}

/** Run `fn` with the young generation held at its size (see the module comment). */
export async function withYoungGenerationHeld<T>(fn: () => Promise<T>): Promise<T> {
  if (userSet()) return fn();
  if (active++ === 0) setFlagsFromString(`${FLAG}=1`);
  try {
    return await fn();
  } finally {
    if (--active === 0) setFlagsFromString(`${FLAG}=${DEFAULT_FACTOR}`);
  }
}
