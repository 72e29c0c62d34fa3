import { describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { exec, parseCommand } from '../../../lib/util/exec.ts';
import { Redactor } from '../../../lib/util/redact.ts';

describe('exec', () => {
  it('returns stdout, stderr and the exit code as data, without throwing on failure', async () => {
    const r = await exec('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
  });

  it('passes secrets by env and refuses them in argv', async () => {
    const redactor = new Redactor().add('pa55-word-xyz');
    const r = await exec('sh', ['-c', 'printf %s "$SECRET"'], { env: { SECRET: 'pa55-word-xyz' }, redactor });
    expect(r.stdout).toBe('pa55-word-xyz');
    await expect(exec('echo', ['--password=pa55-word-xyz'], { redactor })).rejects.toMatchObject({ code: 'E_SECRET_IN_ARGV', message: expect.not.stringContaining('pa55-word-xyz') });
  });

  it('reports a missing program as a failure, not a throw', async () => {
    const r = await exec('ferry-no-such-program', []);
    expect(r.exitCode).toBeUndefined();
    expect(r.failure).toMatch(/ENOENT/);
  });

  it('feeds input and honours the timeout', async () => {
    expect((await exec('cat', [], { stdin: 'hello' })).stdout).toBe('hello');
    const r = await exec('sleep', ['5'], { timeoutMs: 100 });
    expect(r.exitCode).toBeUndefined();
    expect(r.failure).toBeTruthy();
  });

  it('pipes a stream into stdin and streams stdout to a writable, leaving it open', async () => {
    const chunks: string[] = [];
    const sink = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
    const r = await exec('tr', ['a-z', 'A-Z'], { stdin: Readable.from(['ab', 'cd']), stdout: sink });
    expect(r).toMatchObject({ stdout: '', exitCode: 0 });
    expect(chunks.join('')).toBe('ABCD');
    expect(sink.writableEnded).toBe(false);
  });

  it('collects stdout and stderr interleaved when asked, and splits a command line without a shell', async () => {
    const r = await exec('sh', ['-c', 'echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three'], { all: true });
    expect(r.all).toBe('one\ntwo\nthree\n');
    expect(parseCommand('brew services  stop vedfolnir')).toEqual(['brew', 'services', 'stop', 'vedfolnir']);
  });

  it('stops on abort and says why', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await exec('sleep', ['5'], { signal: ac.signal });
    expect(r.exitCode).toBeUndefined();
    expect(r.failure).toBeTruthy();
  });
});
