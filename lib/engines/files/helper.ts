/**
 * The short-lived helper container that reads and writes a named volume: `docker run --rm` with the
 * volume at /dst, no network, the stream on stdin or stdout. Nothing of the stack needs to run.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FerryError, excerpt } from '../../core/errors.ts';

export interface HelperSpec {
  readonly image: string;
  /** The Docker volume's full name (a compose project's volume is `<project>_<name>`). */
  readonly volume: string;
  /** Extra labels on the helper (tests sweep by label). */
  readonly labels?: Readonly<Record<string, string>>;
}

export const HELPER_MOUNT = '/dst';

/** `find -printf` fields of a volume's entry: type, size, mtime, mode, owner, inode, links, sparseness, link target, path. */
export const VOLUME_FIND_FORMAT = '%y\\0%s\\0%T@\\0%m\\0%U\\0%G\\0%i\\0%n\\0%S\\0%l\\0%P\\0';
/** `find -printf` of every entry of the volume (see VOLUME_FIND_FORMAT). */
export const FIND_SCRIPT = `find ${HELPER_MOUNT} -mindepth 1 -printf '${VOLUME_FIND_FORMAT}'`;

export function helperArgs(h: HelperSpec, cmd: readonly string[], o: { readOnly?: boolean; stdin?: boolean; mounts?: readonly string[] } = {}): string[] {
  const labels = Object.entries({ 'ferry.helper': 'files', ...h.labels }).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  return ['run', '--rm', ...(o.stdin ? ['-i'] : []), '--network', 'none', ...labels, '-e', 'LC_ALL=C.UTF-8',
    '-v', `${h.volume}:${HELPER_MOUNT}${o.readOnly ? ':ro' : ''}`, ...(o.mounts ?? []).flatMap((m) => ['-v', m]), h.image, ...cmd];
}

export interface HelperRun<T> {
  readonly h: HelperSpec;
  readonly cmd: readonly string[];
  readonly readOnly?: boolean;
  /** Bytes for the helper's stdin. */
  readonly input?: AsyncIterable<Buffer> | Iterable<Buffer>;
  /** Consumes the helper's stdout; default: collect it. */
  readonly output?: (stdout: AsyncIterable<Buffer>) => Promise<T>;
  readonly signal?: AbortSignal;
  /** What the helper does, for the error message. */
  readonly what: string;
  /** More bind mounts (`host:container[:ro]`). */
  readonly mounts?: readonly string[];
}

export interface OpenHelper {
  readonly stdout: AsyncIterable<Buffer>;
  /** Resolves when the helper exited 0 and its stdin was fed; else throws a FerryError. */
  finished(): Promise<void>;
  kill(): void;
  /**
   * Kill it and remove its container: killing the `docker run` client does not stop a container whose
   * process waits forever (a FIFO never opened). A helper run in a session is only killed (the session's
   * end stops its container).
   */
  stop(): Promise<void>;
}

/**
 * A pass's helper kept running (withHelperSession): one `docker run` for the pass, each helper of it a
 * `docker exec` into that container (≈ 0.2 s each here instead of ≈ 0.8 s). Its first process reads a
 * FIFO ferry holds open: when ferry ends, killed or not, the container reads EOF and ends (`--rm`), and
 * with it whatever ran inside: nothing of a killed run keeps writing into the volume. Only where the
 * Docker engine shares this kernel (a FIFO on the host is one in the container).
 *
 * Started by the pass's first helper, not before: a final pass inside the freeze that finds nothing
 * changed runs none, and starting the container anyway cost it ≈ 0.7 s of the downtime per volume (the
 * second app's demo: 0.73 and 0.82 s catch-ups around 0.06 s passes).
 */
interface Session { readonly volume: string; readonly streamDir: string; readonly h: HelperSpec; id?: string; starting?: Promise<void>; close?: () => Promise<void> }
const sessions = new Map<string, Session>();

const SESSION_MOUNT = '/ferry-stream';
/** A session helper's stdin, as a file in the stream directory (execInSession). */
const INPUT_PREFIX = 'in-';

export async function withHelperSession<T>(h: HelperSpec, streamDir: string, fn: () => Promise<T>): Promise<T> {
  if (sessions.has(h.volume)) return fn();
  const kept = await heldSession(h, streamDir);
  const s: Session = kept ?? { volume: h.volume, streamDir, h };
  sessions.set(h.volume, s);
  try {
    return await fn();
  } finally {
    sessions.delete(h.volume);
    if (!kept) {
      await s.starting?.catch(() => undefined);
      await s.close?.(); // EOF for the container's reader: it ends and is removed
    }
  }
}

/**
 * Sessions started ahead of the pass that will use them (holdHelperSession), by volume: the final pass
 * runs inside the write freeze, where starting its container cost ≈ 0.6-0.8 s of the downtime per volume
 * (the files bench: 2.4 s of a 5-change final pass into a volume, 0.75 s of it the `docker run`).
 */
const held = new Map<string, Session>();

/**
 * Start the volume's session container now, in the background, and keep it (until releaseHelperSession,
 * or this process's end) for the next withHelperSession of the volume. Never throws: a session that fails
 * to start is simply not there (the pass starts its own, as before).
 */
export function holdHelperSession(h: HelperSpec, streamDir: string): void {
  if (held.has(h.volume)) return;
  const s: Session = { volume: h.volume, streamDir, h };
  held.set(h.volume, s);
  s.starting = startSession(s);
}

/** Release every held session (a stack about to be removed with its volumes: a held container would keep them in use). */
export async function releaseHeldSessions(): Promise<void> {
  const ids = [...held.values()].flatMap((s) => (s.id !== undefined ? [s.id] : []));
  for (const v of [...held.keys()]) await releaseHelperSession(v);
  // Each ends and is removed (--rm) a moment after its FIFO's EOF: wait for that (bounded), or remove it.
  const { execFile } = await import('node:child_process');
  const gone = async (id: string) => (await containerState(id)) === 'gone';
  for (const id of ids) {
    for (let i = 0; i < 100 && !await gone(id); i++) await new Promise((r) => setTimeout(r, 100));
    if (!await gone(id)) await new Promise((res) => execFile('docker', ['rm', '-f', '-v', id], () => res(undefined)));
  }
}

/** Once every held session has started (or failed to): for a caller that measures what follows. */
export async function heldSessionsStarted(): Promise<void> {
  await Promise.all([...held.values()].map((s) => s.starting?.catch(() => undefined)));
}

/** Stop holding the volume's session: its container ends (EOF on its FIFO). */
export async function releaseHelperSession(volume: string): Promise<void> {
  const s = held.get(volume);
  if (!s) return;
  held.delete(volume);
  await s.starting?.catch(() => undefined);
  await s.close?.();
}

/** The held session of `h`'s volume, once started, if its container still runs (it ends by itself after an hour: timeout(1)); else none. */
async function heldSession(h: HelperSpec, streamDir: string): Promise<Session | undefined> {
  const s = held.get(h.volume);
  if (!s) return undefined;
  await s.starting?.catch(() => undefined);
  if (s.id !== undefined && s.streamDir === streamDir && s.h.image === h.image && await containerState(s.id) === 'running') return s;
  await releaseHelperSession(h.volume);
  return undefined;
}

/** Container `id` running, stopped, or gone (the Engine API where it answers, else the CLI: an inspect that fails is "gone"). */
async function containerState(id: string): Promise<'running' | 'stopped' | 'gone'> {
  const { apiInspect } = await import('../../util/docker-api.ts');
  const j = await apiInspect(id);
  if (j !== undefined) return j === null ? 'gone' : (j.State as { Running?: boolean } | undefined)?.Running === true ? 'running' : 'stopped';
  const { execFile } = await import('node:child_process');
  return new Promise((res) => execFile('docker', ['inspect', '-f', '{{.State.Running}}', id], (err, out) => res(err ? 'gone' : out.trim() === 'true' ? 'running' : 'stopped')));
}

/** Start the session's container, once; on failure there is none (each helper its own container). */
async function startSession(s: Session): Promise<void> {
  const { mkdir, open, rm } = await import('node:fs/promises');
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  await mkdir(s.streamDir, { recursive: true });
  // Inputs a killed run's helpers left (execInSession) go.
  const { readdir } = await import('node:fs/promises');
  for (const n of await readdir(s.streamDir).catch(() => [] as string[])) if (n.startsWith(INPUT_PREFIX)) await rm(`${s.streamDir}/${n}`, { force: true });
  const alive = `${s.streamDir}/session.fifo`;
  await rm(alive, { force: true });
  await promisify(execFile)('mkfifo', ['-m', '600', alive]);
  // Read-write: it opens at once, and the container's reader never waits for a writer that is gone.
  const fh = await open(alive, 'r+');
  s.close = async () => { await fh.close(); await rm(alive, { force: true }); };
  try {
    // Bounded (an hour) where the image has timeout(1): a ferry gone before the reader opened leaves no writer to end it.
    const f = `${SESSION_MOUNT}/session.fifo`;
    const args = helperArgs(s.h, ['sh', '-c', `if command -v timeout >/dev/null; then exec timeout 3600 cat ${f}; else exec cat ${f}; fi`], { mounts: [`${s.streamDir}:${SESSION_MOUNT}`] });
    s.id = (await promisify(execFile)('docker', [args[0]!, '-d', ...args.slice(1)])).stdout.trim();
  } catch {
    await s.close();
    s.close = undefined;
  }
}

/** The session a helper of `r` would run in (its volume, and its mounts the session's). */
function pendingSessionFor(r: { h: HelperSpec; mounts?: readonly string[] | undefined }): Session | undefined {
  const s = sessions.get(r.h.volume);
  if (!s) return undefined;
  return (r.mounts ?? []).every((m) => m === `${s.streamDir}:${SESSION_MOUNT}`) ? s : undefined;
}

/** Before a helper of `r` starts: its session's container is up (started by the first helper that needs it). */
async function sessionReady(r: { h: HelperSpec; mounts?: readonly string[] | undefined }): Promise<void> {
  const s = pendingSessionFor(r);
  if (s) await (s.starting ??= startSession(s));
}

/** The session's container for a helper of `r`, once started, else undefined. */
function sessionFor(r: { h: HelperSpec; mounts?: readonly string[] | undefined }): (Session & { id: string }) | undefined {
  const s = pendingSessionFor(r);
  return s?.id !== undefined ? (s as Session & { id: string }) : undefined;
}

/** Containers of this process's sessions (not a killed run's helper: waitHelpersGone leaves them be). */
function ownSessionIds(): Set<string> {
  return new Set([...sessions.values(), ...held.values()].flatMap((s) => (s.id !== undefined ? [s.id] : [])));
}

/** Start a helper (in its pass's session, started first if this is its first helper); read its stdout, then await `finished()`. */
export async function openHelper(r: Omit<HelperRun<never>, 'output'>): Promise<OpenHelper> {
  await sessionReady(r);
  const session = sessionFor(r);
  const viaApi = session ? await execInSession(session, r) : undefined;
  if (viaApi) return viaApi;
  // A label of its own, so that stop() finds its container.
  const run = session ? undefined : randomUUID();
  const argv = session ? ['exec', ...(r.input !== undefined ? ['-i'] : []), session.id, ...r.cmd]
    : helperArgs({ ...r.h, labels: { ...r.h.labels, 'ferry.helper.run': run! } }, r.cmd, { readOnly: r.readOnly, stdin: r.input !== undefined, ...(r.mounts ? { mounts: r.mounts } : {}) });
  const child = spawn('docker', argv, {
    stdio: [r.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...(r.signal ? { signal: r.signal } : {}),
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { if (stderr.length < 64_000) stderr += d.toString(); });
  const closed = new Promise<number | null>((res, rej) => { child.on('close', res); child.on('error', rej); });
  closed.catch(() => undefined);
  const feeding = r.input !== undefined
    ? pipeline(Readable.from(r.input as AsyncIterable<Buffer>, { highWaterMark: 1 }), child.stdin!).then(() => undefined, (e: unknown) => e)
    : Promise.resolve(undefined);
  return {
    stdout: child.stdout! as AsyncIterable<Buffer>,
    kill: () => { child.kill('SIGKILL'); },
    async stop() {
      child.kill('SIGKILL');
      if (!run) return;
      const { execFile } = await import('node:child_process');
      const docker = (args: string[]) => new Promise<string>((res) => execFile('docker', args, (err, out) => res(err ? '' : out)));
      const ids = (await docker(['ps', '-aq', '--no-trunc', '--filter', `label=ferry.helper.run=${run}`])).split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', '-v', ...ids]); // -v: an image's anonymous volumes go too, as with run --rm
    },
    async finished() {
      const [code, fed] = await Promise.all([closed, feeding]);
      if (code === 0 && !(fed instanceof Error)) return;
      throw new FerryError('E_FILES_HELPER', `helper container failed to ${r.what} on volume ${r.h.volume} (exit ${code ?? 'signal'})`, {
        hint: `check the volume and that the image ${r.h.image} has sh, tar, find and sha256sum; run again once fixed`,
        detail: excerpt(stderr || (fed instanceof Error ? fed.message : '')),
        ...(fed instanceof Error ? { cause: fed } : {}),
      });
    },
  };
}

/**
 * A helper of a session through the Engine API (util/docker-api.ts apiExecStream: no CLI process per
 * helper, ≈ 0.1 s instead of ≈ 0.2-0.3 s each; a final pass into a volume runs three inside the freeze).
 * Its stdin, if any, is written first to a file in the session's stream directory (it is small: paths
 * to list, remove or punch holes in) and redirected there. Undefined: the CLI runs it (no local socket).
 */
async function execInSession(session: Session & { id: string }, r: Omit<HelperRun<never>, 'output'>): Promise<OpenHelper | undefined> {
  const { apiExecStream } = await import('../../util/docker-api.ts');
  const { rm, writeFile } = await import('node:fs/promises');
  let input: string | undefined;
  let cmd = r.cmd;
  if (r.input !== undefined) {
    const name = `${INPUT_PREFIX}${randomUUID()}`;
    input = `${session.streamDir}/${name}`;
    const parts: Buffer[] = [];
    for await (const b of r.input as AsyncIterable<Buffer>) parts.push(b);
    await writeFile(input, Buffer.concat(parts), { mode: 0o600 });
    cmd = ['sh', '-c', 'exec "$@" < "$0"', `${SESSION_MOUNT}/${name}`, ...r.cmd];
  }
  const dropInput = async () => { if (input) await rm(input, { force: true }); };
  const x = await apiExecStream(session.id, cmd, r.signal).catch((e: unknown) => { if (r.signal?.aborted) throw e; return undefined; });
  if (!x) { await dropInput(); return undefined; }
  return {
    stdout: x.stdout,
    kill: () => x.abort(),
    async stop() { x.abort(); },
    async finished() {
      try {
        r.signal?.throwIfAborted();
        const d = await x.done.catch((e: unknown) => { r.signal?.throwIfAborted(); return { exitCode: undefined, stderr: (e as Error).message }; });
        if (d.exitCode === 0) return;
        throw new FerryError('E_FILES_HELPER', `helper container failed to ${r.what} on volume ${r.h.volume} (exit ${d.exitCode ?? 'unknown'})`, {
          hint: `check the volume and that the image ${r.h.image} has sh, tar, find and sha256sum; run again once fixed`,
          detail: excerpt(d.stderr),
        });
      } finally {
        await dropInput();
      }
    },
  };
}

/** Run a helper to the end; throws a FerryError naming the volume and the helper's stderr when it fails. */
export async function runHelper<T = Buffer>(r: HelperRun<T>): Promise<T> {
  const h = await openHelper(r);
  const collect = async (s: AsyncIterable<Buffer>) => { const parts: Buffer[] = []; for await (const c of s) parts.push(c); return Buffer.concat(parts) as unknown as T; };
  let out: T;
  try {
    out = await (r.output ?? collect)(h.stdout);
  } catch (e) {
    h.kill();
    await h.finished().catch(() => undefined);
    throw e;
  }
  await h.finished();
  return out;
}

/**
 * Wait until no other ferry helper writes into the volume: a killed run's helper drains what was
 * already in its stream after ferry died (its tar finishes a file, sets its mtime), and a resumed run
 * that listed the volume meanwhile would race it. Bounded; named when it does not end.
 */
export async function waitHelpersGone(h: HelperSpec, budgetMs = 60_000, signal?: AbortSignal): Promise<void> {
  const { execFile } = await import('node:child_process');
  const own = ownSessionIds();
  const list = () => new Promise<string[]>((res) => execFile('docker', ['ps', '-q', '--no-trunc', '--filter', 'label=ferry.helper=files', '--filter', `volume=${h.volume}`], (err, out) => res(err ? [] : out.split('\n').filter((x) => x && !own.has(x)))));
  const until = Date.now() + budgetMs;
  for (let ids = await list(); ids.length; ids = await list()) {
    signal?.throwIfAborted();
    if (Date.now() > until) {
      throw new FerryError('E_FILES_HELPER', `helper containers ${ids.join(', ')} still use volume ${h.volume} after ${budgetMs} ms`, {
        hint: `another ferry run (or a killed one's helper) writes into volume ${h.volume}: wait for it, or docker rm -f ${ids.join(' ')}, then run again`,
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
