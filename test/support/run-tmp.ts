/**
 * One temp directory per test run: the global setups point TMPDIR (and so every `os.tmpdir()` of the
 * workers and of the ferry processes they start) at `<tmp>/ferry-t-<project>-<pid>-XXXXXX`, mode 1777
 * like /tmp itself (tests run children as `nobody`), and remove it at teardown, whatever the tests left
 * in it (work directories, artifacts, bind-mounted data written by containers). Runs whose process is
 * gone (killed) lose theirs at the next setup. A run used to leave 1–4 GB behind; on a small disk the
 * suite's own leftovers could fill it. FERRY_TEST_KEEP_TMP=1 keeps the directory, for a post-mortem.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether process `pid` still runs (EPERM: it does, under another user). */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function remove(dir: string): void {
  try { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); } catch (e) {
    process.stderr.write(`[test tmp] could not remove ${dir}: ${(e as Error).message}\n`);
  }
}

/** Point TMPDIR at a fresh per-run directory; returns the teardown that removes it. */
export function scopeRunTmp(project: string): () => void {
  // Both projects in one `vitest run`: the first setup's directory serves both, and its teardown removes it.
  if (process.env.FERRY_TEST_TMP_OWNER === String(process.pid)) return () => {};
  process.env.FERRY_TEST_TMP_OWNER = String(process.pid);
  const base = tmpdir();
  for (const name of readdirSync(base)) {
    const m = /^ferry-t-[a-z0-9]+-(\d+)-/.exec(name);
    if (m && !alive(Number(m[1]))) remove(join(base, name));
  }
  const dir = mkdtempSync(join(base, `ferry-t-${project}-${process.pid}-`));
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.FERRY_TEST_KEEP_TMP) { process.stderr.write(`[test tmp] kept ${dir}\n`); return; }
    remove(dir);
  };
}
