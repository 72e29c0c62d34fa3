import { describe, expect, it } from 'vitest';
import { exec } from '../../../lib/util/exec.ts';
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
    expect((await exec('cat', [], { input: 'hello' })).stdout).toBe('hello');
    const r = await exec('sleep', ['5'], { timeoutMs: 100 });
    expect(r.exitCode).toBeUndefined();
    expect(r.failure).toBeTruthy();
  });
});
