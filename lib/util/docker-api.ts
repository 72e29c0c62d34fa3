/**
 * The Docker Engine API over its local socket, for the calls ferry makes inside the write freeze:
 * listing a project's containers and networks, inspecting containers, removing a network, running a
 * command in a container without stdin. Each through the `docker` CLI is a process start (≈ 0.1–0.45 s
 * on the test machine; compose-cutover made a dozen inside the freeze); the same request on the socket is
 * one HTTP exchange (milliseconds).
 *
 * The endpoint is the CLI's: `DOCKER_HOST`, else the current context (`DOCKER_CONTEXT`, else
 * `currentContext` of `$DOCKER_CONFIG/config.json`, its endpoint in the context store), else
 * /var/run/docker.sock. Only a local socket is spoken to here: a tcp, ssh or TLS endpoint, a socket
 * that is not there, or one that refuses the connection returns undefined and the caller runs the CLI
 * instead, which knows every transport (and `FERRY_DOCKER_API=off` makes it always the CLI). An answer
 * the CLI would print as an error is read here where it means something (404: the container or network
 * is gone); any other leaves the call to the CLI, which words the engine's refusal for the operator.
 * Paths are unversioned: the engine answers with its own current API version, as the CLI negotiates.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ExecResult } from './exec.ts';

export interface DockerApiResponse { readonly status: number; readonly body: unknown }

/** Where to find the CLI's configuration (tests point it elsewhere). */
export interface EndpointEnv {
  readonly DOCKER_HOST?: string | undefined;
  readonly DOCKER_CONTEXT?: string | undefined;
  readonly DOCKER_CONFIG?: string | undefined;
  readonly FERRY_DOCKER_API?: string | undefined;
  readonly HOME?: string | undefined;
}

const unixPath = (host: string): string | undefined => (host.startsWith('unix://') ? host.slice('unix://'.length) : undefined);

/**
 * The engine's local socket as the CLI would reach it, or undefined (a remote or TLS endpoint, the API
 * turned off, a context that cannot be read): the CLI then.
 */
export function resolveEngineSocket(env: EndpointEnv = process.env): string | undefined {
  if (env.FERRY_DOCKER_API === 'off') return undefined;
  if (env.DOCKER_HOST) return unixPath(env.DOCKER_HOST);
  const config = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  let context = env.DOCKER_CONTEXT;
  if (!context) {
    try {
      context = (JSON.parse(readFileSync(join(config, 'config.json'), 'utf8')) as { currentContext?: string }).currentContext;
    } catch { /* no config: the default context */ }
  }
  if (context && context !== 'default') {
    try {
      // The context store keys each context's metadata by the sha256 of its name.
      const meta = JSON.parse(readFileSync(join(config, 'contexts', 'meta', createHash('sha256').update(context).digest('hex'), 'meta.json'), 'utf8')) as
        { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
      const host = meta.Endpoints?.docker?.Host;
      return host ? unixPath(host) : undefined;
    } catch { return undefined; }
  }
  return '/var/run/docker.sock';
}

let cached: { socket: string | undefined } | undefined;

/** This process's socket (resolved once; undefined once it refused a connection). */
function engineSocket(): string | undefined {
  if (!cached) {
    const s = resolveEngineSocket();
    let usable = false;
    try { usable = s !== undefined && statSync(s).isSocket(); } catch { /* not there */ }
    cached = { socket: usable ? s : undefined };
  }
  return cached.socket;
}

/** For tests: forget the resolved socket. */
export function resetEngineSocket(): void { cached = undefined; }

export interface DockerApiRequest {
  /** Query parameters, sent as given (objects as JSON, as `filters` wants). */
  readonly query?: Record<string, string | object>;
  /** A JSON body. */
  readonly json?: object;
  /** The answer's body as bytes, whatever its type (an exec's output). */
  readonly raw?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/**
 * One request to the engine; undefined when there is no local socket to ask or it cannot be reached
 * (the caller runs the CLI).
 */
export async function dockerApi(method: 'GET' | 'DELETE' | 'POST', path: string, o: DockerApiRequest = {}): Promise<DockerApiResponse | undefined> {
  const socketPath = engineSocket();
  if (!socketPath) return undefined;
  const { signal } = o;
  const qs = new URLSearchParams(Object.entries(o.query ?? {}).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
  const payload = o.json === undefined ? undefined : Buffer.from(JSON.stringify(o.json));
  try {
    return await new Promise<DockerApiResponse>((resolve, reject) => {
      const headers: Record<string, string | number> = { Host: 'docker', ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}) };
      const req = request({ socketPath, method, path: qs ? `${path}?${qs}` : path, headers, ...(signal ? { signal } : {}) }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(parts);
          const type = res.headers['content-type'] ?? '';
          let body: unknown = o.raw ? raw : raw.toString('utf8');
          if (!o.raw && type.includes('json') && raw.length) {
            try { body = JSON.parse(raw.toString('utf8')); } catch { /* kept as text */ }
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    const code = (e as { code?: string }).code;
    // The socket went away or refuses us: the CLI from now on (it reports what is wrong in its words);
    // any other failure of this exchange (a reset): the CLI for this request.
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') cached = { socket: undefined };
    return undefined;
  }
}

const ok = (r: DockerApiResponse) => r.status >= 200 && r.status < 300;

/** Full ids of the containers whose labels match every `key=value` of `labels` (running only unless `all`); undefined: ask the CLI. */
export async function apiContainerIds(labels: readonly string[], all: boolean): Promise<string[] | undefined> {
  const r = await dockerApi('GET', '/containers/json', { query: { ...(all ? { all: '1' } : {}), filters: { label: labels } } });
  if (!r || !ok(r) || !Array.isArray(r.body)) return undefined;
  return (r.body as Array<{ Id: string }>).map((c) => c.Id);
}

/** A container's inspection (`docker inspect`'s object); null when it is gone; undefined: ask the CLI. */
export async function apiInspect(id: string): Promise<Record<string, unknown> | null | undefined> {
  const r = await dockerApi('GET', `/containers/${encodeURIComponent(id)}/json`);
  if (!r) return undefined;
  if (r.status === 404) return null;
  return ok(r) && typeof r.body === 'object' && r.body !== null ? r.body as Record<string, unknown> : undefined;
}

/** The inspections of `ids` (null for one gone), or undefined when any must be asked of the CLI. */
export async function apiInspectAll(ids: readonly string[]): Promise<Array<Record<string, unknown> | null> | undefined> {
  const all = await Promise.all(ids.map(apiInspect));
  return all.every((x) => x !== undefined) ? all as Array<Record<string, unknown> | null> : undefined;
}

/** Ids of the networks whose labels match every `key=value` of `labels`; undefined: ask the CLI. */
export async function apiNetworkIds(labels: readonly string[]): Promise<string[] | undefined> {
  const r = await dockerApi('GET', '/networks', { query: { filters: { label: labels } } });
  if (!r || !ok(r) || !Array.isArray(r.body)) return undefined;
  return (r.body as Array<{ Id: string }>).map((n) => n.Id);
}

/** Remove a network: true once it is gone (404 included), false: ask the CLI (which names the engine's refusal). */
export async function apiRemoveNetwork(id: string): Promise<boolean> {
  const r = await dockerApi('DELETE', `/networks/${encodeURIComponent(id)}`);
  return !!r && (ok(r) || r.status === 404);
}

/**
 * Run `cmd` in container `id` without stdin (`docker exec` without -i): create, start attached, read the
 * exit code. Variables travel in the request body to the local socket (no argv, no child environment).
 * Undefined: ask the CLI (no socket, or the engine would not create the exec: the CLI names why).
 */
export async function apiExec(id: string, cmd: readonly string[], o: { env?: Readonly<Record<string, string>>; user?: string; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ExecResult | undefined> {
  const timeout = o.timeoutMs !== undefined ? AbortSignal.timeout(o.timeoutMs) : undefined;
  const signals = [o.signal, timeout].filter((x): x is AbortSignal => !!x);
  const signal = signals.length ? AbortSignal.any(signals) : undefined;
  try {
    return await execAttached(id, cmd, o, signal);
  } catch (e) {
    // As the CLI path reports a stopped process: data, not a throw (the command inside may still run, as with `docker exec`).
    if (signal?.aborted) return { stdout: '', stderr: '', exitCode: undefined, failure: timeout?.aborted ? `timed out after ${o.timeoutMs} ms` : 'aborted' };
    throw e;
  }
}

async function execAttached(id: string, cmd: readonly string[], o: { env?: Readonly<Record<string, string>>; user?: string }, signal: AbortSignal | undefined): Promise<ExecResult | undefined> {
  const created = await dockerApi('POST', `/containers/${encodeURIComponent(id)}/exec`, { signal, json: {
    AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: cmd,
    ...(o.env ? { Env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`) } : {}), ...(o.user ? { User: o.user } : {}),
  } });
  const execId = created && ok(created) ? (created.body as { Id?: string }).Id : undefined;
  if (!execId) return undefined;
  // Attached, the answer is the command's output until it ends (stdout/stderr frames: an 8-byte header each).
  const started = await dockerApi('POST', `/exec/${execId}/start`, { signal, raw: true, json: { Detach: false, Tty: false } });
  // Lost while it ran: not run again through the CLI (a command need not be idempotent).
  if (!started) return { stdout: '', stderr: '', exitCode: undefined, failure: 'the connection to the Docker engine failed while the command ran' };
  if (!ok(started)) return undefined; // refused before it ran (a paused container): the CLI says why
  const out: Buffer[] = [], err: Buffer[] = [];
  eachFrame(started.body as Buffer, (stream, data) => (stream === 2 ? err : out).push(data));
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: await execExitCode(execId, signal) };
}

/**
 * The complete frames of an exec's multiplexed output in `b` (an 8-byte header each: the stream, 1 stdout
 * or 2 stderr, and the size), each handed to `on` in order; returns the bytes of an incomplete last frame.
 */
function eachFrame(b: Buffer, on: (stream: number, data: Buffer) => void): Buffer {
  let at = 0;
  while (b.length - at >= 8) {
    const size = b.readUInt32BE(at + 4);
    if (b.length - at - 8 < size) break;
    on(b[at]!, b.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return at < b.length ? Buffer.from(b.subarray(at)) : Buffer.alloc(0);
}

/** An exec's exit code once its output ended (the engine may record it a moment later); undefined if it cannot be read. */
async function execExitCode(execId: string, signal: AbortSignal | undefined): Promise<number | undefined> {
  let code: number | null | undefined;
  for (let i = 0; i < 100; i++) {
    const state = await dockerApi('GET', `/exec/${execId}/json`, { signal });
    const j = state && ok(state) ? state.body as { ExitCode?: number | null; Running?: boolean } : undefined;
    code = j?.ExitCode;
    if (!j || !j.Running) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return typeof code === 'number' ? code : undefined;
}

/** A command started in a container by apiExecStream. */
export interface StreamedExec {
  /** Its stdout as it comes (read it to the end: the exec ends when it is read). */
  readonly stdout: AsyncIterable<Buffer>;
  /** Once stdout ended: the exit code (undefined if it could not be read) and up to 64 KB of stderr. */
  readonly done: Promise<{ exitCode: number | undefined; stderr: string }>;
  /** Stop reading (the connection is closed; the command inside may run on, as after `docker exec` is killed). */
  abort(): void;
}

/**
 * Run `cmd` in container `id` without stdin (`docker exec` without -i), its stdout streamed as the engine
 * sends it (frames of 8-byte headers, stdout and stderr, demultiplexed here), not collected: the files
 * engine's helpers list volumes of 100k entries this way. One request to the socket instead of a CLI
 * process (≈ 0.1 s instead of ≈ 0.2-0.25 s each here). Undefined: ask the CLI (no local socket, or the
 * engine would not create or start the exec: nothing ran).
 */
export async function apiExecStream(id: string, cmd: readonly string[], signal?: AbortSignal): Promise<StreamedExec | undefined> {
  const created = await dockerApi('POST', `/containers/${encodeURIComponent(id)}/exec`, { signal, json: { AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: cmd } });
  const execId = created && ok(created) ? (created.body as { Id?: string }).Id : undefined;
  const socketPath = engineSocket();
  if (!execId || !socketPath) return undefined;
  const payload = Buffer.from(JSON.stringify({ Detach: false, Tty: false }));
  let req: ReturnType<typeof request> | undefined;
  const res = await new Promise<import('node:http').IncomingMessage | undefined>((resolve) => {
    req = request({ socketPath, method: 'POST', path: `/exec/${execId}/start`, headers: { Host: 'docker', 'Content-Type': 'application/json', 'Content-Length': payload.length }, ...(signal ? { signal } : {}) }, resolve);
    req.on('error', () => resolve(undefined));
    req.end(payload);
  });
  if (!res || res.statusCode !== 200) { res?.resume(); return undefined; }
  let stderr = '';
  let ended!: () => void;
  let failed!: (e: unknown) => void;
  const streamEnd = new Promise<void>((a, b) => { ended = a; failed = b; });
  streamEnd.catch(() => undefined);
  async function* stdout(): AsyncGenerator<Buffer> {
    let pending: Buffer = Buffer.alloc(0);
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        const out: Buffer[] = [];
        pending = eachFrame(pending.length ? Buffer.concat([pending, chunk]) : chunk, (stream, data) => {
          if (stream === 2) { if (stderr.length < 64_000) stderr += data.toString('utf8'); } else if (data.length) out.push(data);
        });
        yield* out;
      }
      ended();
    } catch (e) {
      failed(e);
      throw e;
    } finally {
      failed(new Error('the output of the command was not read to its end')); // no-op once ended
    }
  }
  const done = streamEnd.then(async () => ({ exitCode: await execExitCode(execId, signal), stderr }));
  return { stdout: stdout(), done, abort: () => { req?.destroy(); res.destroy(); } };
}

/** A command started in a container by apiExecDuplex, its stdin and stdout ferry's streams. */
export interface DuplexExec {
  /** The command's stdout as the engine sends it (stderr is dropped). Ends when the command's output does. */
  readonly stdout: Readable;
  /** Write the command's stdin; `end()` closes it (a half-close: the command's output goes on). */
  readonly stdin: Writable;
  /** Settles once the connection is closed (the command ended, or abort()). */
  readonly done: Promise<void>;
  /** Close the connection (the command's stdin and stdout with it). */
  abort(): void;
}

/**
 * Run `cmd` in container `id` with stdin (`docker exec -i`): create the exec, then start it on a
 * connection upgraded to a raw stream (`Upgrade: tcp`, as the CLI does): ferry's bytes go to the
 * command's stdin, a half-close of the connection closes it, and its stdout comes back in the engine's
 * frames (8-byte headers), demultiplexed here. No CLI process on the host (≈ 25 MB and ≈ 0.1 CPU-s each
 * here). Undefined: ask the CLI (no local socket, or the engine would not create or start the exec:
 * nothing ran).
 */
export async function apiExecDuplex(id: string, cmd: readonly string[]): Promise<DuplexExec | undefined> {
  const created = await dockerApi('POST', `/containers/${encodeURIComponent(id)}/exec`, { json: { AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: cmd } });
  const execId = created && ok(created) ? (created.body as { Id?: string }).Id : undefined;
  const socketPath = engineSocket();
  if (!execId || !socketPath) return undefined;
  const payload = Buffer.from(JSON.stringify({ Detach: false, Tty: false }));
  const upgraded = await new Promise<{ socket: Socket; head: Buffer } | undefined>((resolve) => {
    const req = request({
      socketPath, method: 'POST', path: `/exec/${execId}/start`,
      headers: { Host: 'docker', 'Content-Type': 'application/json', 'Content-Length': payload.length, Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => resolve({ socket, head }));
    // Anything but the upgrade (a 404, a 409 for a paused container): nothing ran, the CLI says why.
    req.on('response', (res) => { res.resume(); resolve(undefined); });
    req.on('error', () => resolve(undefined));
    req.end(payload);
  });
  if (!upgraded) return undefined;
  const { socket, head } = upgraded;
  const stdout = new PassThrough();
  let pending: Buffer = head.length ? Buffer.from(head) : Buffer.alloc(0);
  const demux = (chunk: Buffer) => {
    pending = eachFrame(pending.length ? Buffer.concat([pending, chunk]) : chunk, (stream, data) => {
      // Backpressure: the connection waits while ferry's reader does.
      if (stream === 1 && data.length && !stdout.write(data)) socket.pause();
    });
  };
  stdout.on('drain', () => socket.resume());
  if (pending.length) { const first = pending; pending = Buffer.alloc(0); demux(first); }
  socket.on('data', demux);
  const done = new Promise<void>((resolve) => {
    socket.once('close', () => { stdout.end(); resolve(); });
  });
  socket.on('error', () => socket.destroy());
  // The readable side stays open after ferry's half-close: the command's output comes after its stdin ended.
  socket.on('end', () => socket.end());
  return { stdout, stdin: socket, done, abort: () => socket.destroy() };
}
