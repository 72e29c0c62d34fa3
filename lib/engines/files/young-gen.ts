/**
 * The calling thread's young generation held at a fixed size while a pass walks or copies a tree. V8 grows
 * the young generation (new space) by `--semi-space-growth-factor` (2) whenever the bytes that survived
 * scavenges since the last growth exceed its capacity: a running total, so a long enough stream of
 * entries grows it to its maximum whatever its live set. A first copy of 100k files (scale 100) took the
 * main thread's new space 8 -> 64 MB in the export's walk and -> 128 MB in the copy (32 MB at scale 20:
 * the process's RSS grew with the file count), while its live heap after each mark-compact stayed at
 * 11-24 MB at both scales. The main thread's limits cannot be set once it runs (a worker's come from
 * `resourceLimits`, as the copy pool's and the verify's do), but V8 reads the growth factor when it grows:
 * at 1 the new space stays the size it has. Measured (scale 100, bench child, 2 copy workers): peak RSS
 * 231-247 MB -> 155-197 MB.
 *
 * Held at 1 MB (where a process starts) the main thread of a first copy scavenged every few ms, ~2 ms each:
 * ~1,300 scavenges, 2.2 CPU-s of a 100k-file copy (files of 100 bytes, where the main thread's walk and
 * manifest are what the copy waits for; its workers stood idle 45 % of the time). So a pass lets it grow
 * (V8's own factor) to HELD_NEW_SPACE_MB and holds it there: scavenges 1,286 -> 568 (1.34 s), wall 9.5-10.3
 * -> 8.6-9.2 s, user CPU -0.7 s, peak RSS 169-192 MB (172-176 before): what grew the RSS was the growth
 * without end. Scale 100 (bench): peak RSS 164-165 MB.
 * The size is read at the pass's start, then every GROW_POLL_MS and at every directory the walk reads until
 * it is reached (V8 grows it at a scavenge, by doubling: a read that comes late lets it double once more).
 *
 * The flag is process-wide: while a pass runs, other work of the process keeps its new space too (it
 * only scavenges more often); the default (2) is put back when the last pass ends. A node started with
 * its own `--semi-space-growth-factor` (node flags or NODE_OPTIONS) is left as it was.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

const FLAG = '--semi-space-growth-factor';
/** V8's default growth factor, restored after the last pass. */
const DEFAULT_FACTOR = 2;
/** The new space (V8's `new_space` size) a pass grows to, then holds (MB). */
export const HELD_NEW_SPACE_MB = 8;
/** How often a pass reads the new space's size while it grows to HELD_NEW_SPACE_MB. */
const GROW_POLL_MS = 10;

let active = 0;
let growing: NodeJS.Timeout | undefined;

function userSet(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith(FLAG) || a.startsWith('--semi_space_growth_factor'));
}

const newSpaceMb = () => (getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0) / (1 << 20);

/** Held once it reached HELD_NEW_SPACE_MB: true when it is (the factor set to 1). */
function reached(): boolean {
  if (newSpaceMb() < HELD_NEW_SPACE_MB) return false;
  setFlagsFromString(`${FLAG}=1`);
  return true;
}

/** Held at HELD_NEW_SPACE_MB once reached (now, or at a later poll or tick); growing by V8's own factor until then. */
function hold(): void {
  if (reached()) return;
  setFlagsFromString(`${FLAG}=${DEFAULT_FACTOR}`);
  growing = setInterval(youngGenerationTick, GROW_POLL_MS);
  growing.unref();
}

function stopGrowing(): void {
  if (growing) clearInterval(growing);
  growing = undefined;
}

/**
 * Read the new space's size while it grows (see hold). Also called by work that runs long without
 * turning the event loop (the walk reads directories synchronously, its entries handed on as microtasks:
 * the poll's timer would not run before it ends), once per directory.
 */
export function youngGenerationTick(): void {
  if (growing && reached()) stopGrowing();
}

/** Run `fn` with the young generation held at HELD_NEW_SPACE_MB, or at its size when larger (see the module comment). */
export async function withYoungGenerationHeld<T>(fn: () => Promise<T>): Promise<T> {
  if (userSet()) return fn();
  if (active++ === 0) hold();
  try {
    return await fn();
  } finally {
    if (--active === 0) {
      stopGrowing();
      setFlagsFromString(`${FLAG}=${DEFAULT_FACTOR}`);
    }
  }
}
