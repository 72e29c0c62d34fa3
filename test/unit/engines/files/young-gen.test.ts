/**
 * withYoungGenerationHeld (young-gen.ts), in a new node process each (V8's flags are per process): a
 * stream of objects that survive a few scavenges each grows V8's new space to its maximum; held, it
 * grows to HELD_NEW_SPACE_MB and stays there, and it grows again once the pass ends. A node started with its own growth factor
 * is left as it was.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HELD_NEW_SPACE_MB } from '../../../../lib/engines/files/young-gen.ts';

const mod = new URL('../../../../lib/engines/files/young-gen.ts', import.meta.url).href;

// A ring of 4096 live objects replaced 3 million times: every scavenge finds a few thousand survivors. The
// event loop turns now and then, as a pass's does (its reads, its workers' replies; the walk, which reads
// directories synchronously, reads the size itself: youngGenerationTick).
const CHILD = `
import { getHeapSpaceStatistics } from 'node:v8';
const { withYoungGenerationHeld } = await import(${JSON.stringify(mod)});
const ns = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const churn = async () => { const ring = new Array(4096); for (let i = 0; i < 3e6; i++) { ring[i & 4095] = { i, s: 'x' + i }; if ((i & 0x3fff) === 0) await new Promise((r) => setImmediate(r)); } return ring.length; };
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
  it('grows the new space to HELD_NEW_SPACE_MB and holds it there through a long stream of survivors, and lets it grow again after', async () => {
    const r = await run();
    const held = HELD_NEW_SPACE_MB << 20;
    // Unheld, the same stream grows the new space many times over (V8's doubling, to 32-64 MB). Held, it
    // grows to the size held (V8 grows it by doubling at a scavenge: a poll that came late lets it double
    // once more) and stays there.
    expect(r.before).toBeLessThan(held);
    expect(r.held).toBeGreaterThanOrEqual(held);
    expect(r.held).toBeLessThanOrEqual(2 * held);
    expect(r.after).toBeGreaterThanOrEqual(2 * r.held);
  });

  it('leaves a node started with its own --semi-space-growth-factor as it was', async () => {
    const r = await run(['--semi-space-growth-factor=2']);
    expect(r.held).toBeGreaterThanOrEqual(8 * r.before);
  });
});
