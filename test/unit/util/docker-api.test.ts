/**
 * Which socket the Engine API is asked on (docker-api.ts resolveEngineSocket): the CLI's own endpoint
 * rules, on real configuration directories; anything but a local socket is left to the CLI. And a
 * request on a socket nobody listens on returns undefined (the caller runs the CLI), never throws.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiExec, dockerApi, resetEngineSocket, resolveEngineSocket } from '../../../lib/util/docker-api.ts';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-docker-api-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function context(config: string, name: string, host: string): Promise<void> {
  const meta = join(config, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
  await mkdir(meta, { recursive: true });
  await writeFile(join(meta, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
}

describe('resolveEngineSocket', () => {
  it('follows DOCKER_HOST: a unix socket is used, any other transport is the CLI\'s', () => {
    expect(resolveEngineSocket({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock', HOME: dir })).toBe('/run/user/1000/docker.sock');
    expect(resolveEngineSocket({ DOCKER_HOST: 'tcp://127.0.0.1:2376', HOME: dir })).toBeUndefined();
    expect(resolveEngineSocket({ DOCKER_HOST: 'ssh://me@host', HOME: dir })).toBeUndefined();
  });

  it('is off with FERRY_DOCKER_API=off, whatever the endpoint', () => {
    expect(resolveEngineSocket({ FERRY_DOCKER_API: 'off', HOME: dir })).toBeUndefined();
    expect(resolveEngineSocket({ FERRY_DOCKER_API: 'off', DOCKER_HOST: 'unix:///x.sock' })).toBeUndefined();
  });

  it('defaults to /var/run/docker.sock without a config or with the default context', async () => {
    expect(resolveEngineSocket({ HOME: join(dir, 'nobody') })).toBe('/var/run/docker.sock');
    const config = join(dir, 'default-ctx');
    await mkdir(config, { recursive: true });
    await writeFile(join(config, 'config.json'), JSON.stringify({ currentContext: 'default' }));
    expect(resolveEngineSocket({ DOCKER_CONFIG: config })).toBe('/var/run/docker.sock');
  });

  it('reads the current context\'s endpoint from the context store (Docker Desktop, colima)', async () => {
    const config = join(dir, 'desktop');
    await context(config, 'desktop-linux', 'unix:///Users/op/.docker/run/docker.sock');
    await context(config, 'remote', 'tcp://10.0.0.5:2376');
    await writeFile(join(config, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'desktop-linux' }));
    expect(resolveEngineSocket({ DOCKER_CONFIG: config })).toBe('/Users/op/.docker/run/docker.sock');
    // DOCKER_CONTEXT wins over the file, DOCKER_HOST over both.
    expect(resolveEngineSocket({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'remote' })).toBeUndefined();
    expect(resolveEngineSocket({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'remote', DOCKER_HOST: 'unix:///h.sock' })).toBe('/h.sock');
    // A context the store does not hold: the CLI (it will say so).
    expect(resolveEngineSocket({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'gone' })).toBeUndefined();
  });
});

describe('dockerApi', () => {
  let server: Server | undefined;
  const saved = { ...process.env };
  afterEach(async () => {
    process.env = { ...saved };
    resetEngineSocket();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('asks the socket, with filters as JSON, and reads its answer', async () => {
    const sock = join(dir, 'engine.sock');
    const seen: string[] = [];
    server = createServer((req, res) => { seen.push(`${req.method} ${req.url}`); res.setHeader('content-type', 'application/json'); res.end(JSON.stringify([{ Id: 'abc' }])); });
    await new Promise<void>((r) => server!.listen(sock, r));
    process.env.DOCKER_HOST = `unix://${sock}`;
    resetEngineSocket();
    const r = await dockerApi('GET', '/containers/json', { query: { all: '1', filters: { label: ['a=b'] } } });
    expect(r).toEqual({ status: 200, body: [{ Id: 'abc' }] });
    expect(seen).toEqual([`GET /containers/json?all=1&filters=${encodeURIComponent('{"label":["a=b"]}')}`]);
  });

  it('returns undefined (the CLI then) where no socket is, or nobody listens on it', async () => {
    process.env.DOCKER_HOST = `unix://${join(dir, 'none.sock')}`;
    resetEngineSocket();
    expect(await dockerApi('GET', '/_ping')).toBeUndefined();
    const sock = join(dir, 'closed.sock');
    server = createServer(() => undefined);
    await new Promise<void>((r) => server!.listen(sock, r));
    process.env.DOCKER_HOST = `unix://${sock}`;
    resetEngineSocket();
    await new Promise<void>((r) => server!.close(() => r())); // the socket file stays, nobody listens
    server = undefined;
    expect(await dockerApi('GET', '/_ping')).toBeUndefined();
  });

  /** A stand-in engine for the exec endpoints: `start` answers with `frames`, or drops the connection. */
  async function fakeExecEngine(start: 'frames' | 'drop', seen: string[]): Promise<void> {
    const sock = join(dir, `exec-${start}.sock`);
    let polls = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (b: Buffer) => { body += b.toString(); });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        if (req.url === '/containers/c1/exec') { res.writeHead(201, { 'content-type': 'application/json' }); res.end('{"Id":"e1"}'); return; }
        if (req.url === '/exec/e1/start') {
          if (start === 'drop') { res.socket?.destroy(); return; }
          const frame = (stream: number, text: string) => { const h = Buffer.alloc(8); h[0] = stream; h.writeUInt32BE(Buffer.byteLength(text), 4); return Buffer.concat([h, Buffer.from(text)]); };
          res.writeHead(200, { 'content-type': 'application/vnd.docker.multiplexed-stream' });
          res.end(Buffer.concat([frame(1, 'out-1 '), frame(2, 'err'), frame(1, 'out-2')]));
          return;
        }
        // The exit code is recorded a moment after the output ends.
        polls++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(polls < 3 ? { Running: true, ExitCode: null } : { Running: false, ExitCode: 7 }));
      });
    });
    await new Promise<void>((r) => server!.listen(sock, r));
    process.env.DOCKER_HOST = `unix://${sock}`;
    resetEngineSocket();
  }

  it('runs a command: variables in the body, stdout and stderr apart, the exit code once it is recorded', async () => {
    const seen: string[] = [];
    await fakeExecEngine('frames', seen);
    const r = await apiExec('c1', ['mysql', '-e', 'SELECT 1'], { env: { MYSQL_PWD: 'p w' }, user: 'mysql' });
    expect(r).toEqual({ stdout: 'out-1 out-2', stderr: 'err', exitCode: 7 });
    expect(JSON.parse(seen[0]!.split(' ').slice(2).join(' '))).toEqual({ AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: ['mysql', '-e', 'SELECT 1'], Env: ['MYSQL_PWD=p w'], User: 'mysql' });
    expect(seen.filter((x) => x.startsWith('GET /exec/e1/json'))).toHaveLength(3);
  });

  it('a connection lost while the command ran is a failure, never a second run through the CLI', async () => {
    await fakeExecEngine('drop', []);
    const r = await apiExec('c1', ['sh', '-c', 'echo once >> /log']);
    expect(r?.exitCode).toBeUndefined();
    expect(r?.failure).toMatch(/failed while the command ran/);
  });
});
