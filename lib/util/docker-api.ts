/**
 * The Docker Engine API over its local socket, for the reads and removals ferry makes inside the write
 * freeze: listing a project's containers and networks, inspecting containers, removing a network. Each
 * through the `docker` CLI is a process start (≈ 0.1–0.45 s on the test machine; compose-cutover made a
 * dozen inside the freeze); the same request on the socket is one HTTP exchange (milliseconds).
 *
 * The endpoint is the CLI's: `DOCKER_HOST`, else the current context (`DOCKER_CONTEXT`, else
 * `currentContext` of `$DOCKER_CONFIG/config.json`, its endpoint in the context store), else
 * /var/run/docker.sock. Only a local socket is spoken to here: a tcp, ssh or TLS endpoint, a socket
 * that is not there, or one that refuses the connection returns undefined and the caller runs the CLI
 * instead, which knows every transport (and `FERRY_DOCKER_API=off` makes it always the CLI). Answers the
 * CLI would print as an error (404 for a container gone) are the caller's to read.
 * Paths are unversioned: the engine answers with its own current API version, as the CLI negotiates.
 */
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

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

/**
 * One request to the engine; undefined when there is no local socket to ask or it cannot be reached
 * (the caller runs the CLI). `query` values are sent as given (objects as JSON, as `filters` wants).
 */
export async function dockerApi(method: 'GET' | 'DELETE', path: string, query: Record<string, string | object> = {}, signal?: AbortSignal): Promise<DockerApiResponse | undefined> {
  const socketPath = engineSocket();
  if (!socketPath) return undefined;
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
  try {
    return await new Promise<DockerApiResponse>((resolve, reject) => {
      const req = request({ socketPath, method, path: qs ? `${path}?${qs}` : path, headers: { Host: 'docker' }, ...(signal ? { signal } : {}) }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let body: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json') && text) {
            try { body = JSON.parse(text); } catch { /* kept as text */ }
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.end();
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
  const r = await dockerApi('GET', '/containers/json', { ...(all ? { all: '1' } : {}), filters: { label: labels } });
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

/** Ids of the networks whose labels match every `key=value` of `labels`; undefined: ask the CLI. */
export async function apiNetworkIds(labels: readonly string[]): Promise<string[] | undefined> {
  const r = await dockerApi('GET', '/networks', { filters: { label: labels } });
  if (!r || !ok(r) || !Array.isArray(r.body)) return undefined;
  return (r.body as Array<{ Id: string }>).map((n) => n.Id);
}

/** Remove a network: true once it is gone (404 included), false: ask the CLI (which names the engine's refusal). */
export async function apiRemoveNetwork(id: string): Promise<boolean> {
  const r = await dockerApi('DELETE', `/networks/${encodeURIComponent(id)}`);
  return !!r && (ok(r) || r.status === 404);
}

/** The engine's error message of a non-2xx answer (`{"message": …}`), else the status. */
export function apiError(r: DockerApiResponse): string {
  const m = typeof r.body === 'object' && r.body !== null ? (r.body as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : `HTTP ${r.status}`;
}
