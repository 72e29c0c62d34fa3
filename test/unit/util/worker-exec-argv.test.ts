import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { workerExecArgv } from '../../../lib/util/worker-exec-argv.ts';

const NODE = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const UTIL = fileURLToPath(new URL('../../../lib/util/worker-exec-argv.ts', import.meta.url));

/** A `node --input-type=module -e` parent starting a worker thread from a module file (as verify-worker.ts does), with or without ferry's execArgv. */
function startWorkerFromEval(withUtil: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-worker-argv-'));
  const file = join(dir, 'worker.mjs');
  writeFileSync(file, 'import { parentPort } from "node:worker_threads"; parentPort.postMessage(process.execArgv.join(" "));\n');
  const code = `import { Worker } from 'node:worker_threads';
    import { workerExecArgv } from ${JSON.stringify(UTIL)};
    const w = new Worker(new URL(${JSON.stringify(pathToFileURL(file).href)})${withUtil ? ', { execArgv: workerExecArgv() }' : ''});
    w.once('message', (m) => console.log('started:' + m));
    w.once('error', (e) => console.log('error: ' + e.message));`;
  try {
    return spawnSync(NODE, ['--max-old-space-size=200', '--no-deprecation', '--input-type=module', '-e', code], { encoding: 'utf8' }).stdout.trim();
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

describe('workerExecArgv', () => {
  it('is undefined (Node\'s default: inherit) for a parent that runs a file', () => {
    expect(workerExecArgv()).toBeUndefined();
  });

  it('lets a worker start under a `node --input-type=module -e` parent, keeping its other options but the per-process V8 limits', () => {
    expect(startWorkerFromEval(false)).toContain('--input-type can only be used with string input');
    expect(startWorkerFromEval(true)).toBe('started:--no-deprecation');
  });
});
