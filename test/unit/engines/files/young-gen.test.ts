/**
 * withYoungGenerationHeld (young-gen.ts), in a new node process each (V8's flags are per process): a
 * stream of objects that survive a few scavenges each grows V8's new space to its maximum; held, it
 * stays where it was, and it grows again once the pass ends. A node started with its own growth factor
 * is left as it was.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const mod = new URL('../../../../lib/engines/files/young-gen.ts', import.meta.url).href;

// A ring of 4096 live objects replaced 3 million times: every scavenge finds a few thousand survivors.
const CHILD = `
import { getHeapSpaceStatistics } from 'node:v8';
const { withYoungGenerationHeld } = await import(${JSON.stringify(mod)});
const ns = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const churn = async () => { const ring = new Array(4096); for (let i = 0; i < 3e6; i++) { ring[i & 4095] = { i, s: 'x' + i }; if ((i & 0xffff) === 0) await null; } return ring.length; };
const before = ns();
await withYoungGenerationHeld(churn);
const held = ns();
await churn();
const after = ns();
process.stdout.write(JSON.stringify({ before, held, after }));
`;

async function run(flags: string[] = []): Promise<{ before: number; held: number; after: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, [...flags, '--input-type=module', '-e', CHILD], { env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(stdout) as { before: number; held: number; after: number };
}

describe('withYoungGenerationHeld', () => {
  it('keeps the new space at its size through a long stream of survivors, and lets it grow again after', async () => {
    const r = await run();
    // Unheld, the same stream grows the new space many times over (V8's doubling, to 16-64 MB). Held, it
    // stays within a few MB of where it was: V8's committed new space still moves by pages (1 -> 2 MB on
    // a quiet machine, 3.5 MB seen under CI's load, pages a scavenge keeps), never by doublings to 32 MB.
    expect(r.after).toBeGreaterThanOrEqual(4 * r.held);
    expect(r.held).toBeLessThanOrEqual(Math.max(4 * r.before, 8 << 20));
  });

  it('leaves a node started with its own --semi-space-growth-factor as it was', async () => {
    const r = await run(['--semi-space-growth-factor=2']);
    expect(r.held).toBeGreaterThanOrEqual(8 * r.before);
  });
});
