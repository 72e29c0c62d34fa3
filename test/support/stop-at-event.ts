/**
 * Preloaded (`node --import`) into a playbook child by startPlaybook's `stopAt`: the child stops itself
 * (SIGSTOP) right after writing the `--json` event named by `FERRY_TEST_STOP_AT` (JSON: `type`, `step`, and
 * optionally `file` and `matches`: only once that file's text matches that multiline pattern), so a test that
 * SIGKILLs it on that event kills it exactly there, not some way into what came after (stdout is a pipe: the
 * line is written synchronously, before the step goes on). Dropped from the env its own children see.
 */
import { readFileSync } from 'node:fs';

const spec = process.env.FERRY_TEST_STOP_AT;
delete process.env.FERRY_TEST_STOP_AT;
if (spec) {
  const at = JSON.parse(spec) as { type: string; step: string; file?: string; matches?: string };
  const pattern = at.matches === undefined ? undefined : new RegExp(at.matches, 'm');
  const fileMatches = (): boolean => {
    if (!at.file || !pattern) return true;
    try { return pattern.test(readFileSync(at.file, 'utf8')); } catch { return false; }
  };
  const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  let stopped = false;
  const hooked = (chunk: unknown, ...rest: unknown[]): boolean => {
    const r = write(chunk, ...rest);
    if (!stopped) {
      for (const line of String(chunk).split('\n')) {
        if (!line.startsWith('{')) continue;
        let e: { type?: unknown; step?: unknown };
        try { e = JSON.parse(line) as typeof e; } catch { continue; }
        if (e.type === at.type && e.step === at.step && fileMatches()) { stopped = true; process.kill(process.pid, 'SIGSTOP'); break; }
      }
    }
    return r;
  };
  (process.stdout as unknown as { write: typeof hooked }).write = hooked;
}
