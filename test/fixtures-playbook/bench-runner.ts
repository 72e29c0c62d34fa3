/**
 * Runner overhead with the file journal (fsync per record): `node test/fixtures-playbook/bench-runner.ts 100`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineStep } from '../../lib/core/step.ts';
import { runPlaybook } from '../../lib/runner/index.ts';
import { Redactor } from '../../lib/util/redact.ts';
const N = Number(process.argv[2] ?? 100);
const steps = Array.from({ length: N }, (_, i) => defineStep({ id: `s${i}`, title: `S${i}`, async plan() { return { reads: [], changes: [] }; }, async run() { return { data: { i } }; }, async verify() { return { ok: true, findings: [] }; } }));
const stateDir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
for (const label of ['first run', 're-run (all skipped)']) {
  const t = performance.now();
  const r = await runPlaybook({ playbook: { id: 'bench', title: 'b', steps }, config: {}, ctx: {}, stateDir, redactor: new Redactor() });
  console.log(`${label}: ${N} steps, ${r.status}, ${(performance.now() - t).toFixed(0)}ms, ${((performance.now() - t) / N).toFixed(2)}ms/step`);
}
console.log(`rss ${(process.memoryUsage().rss / 1e6).toFixed(0)}MB`);
