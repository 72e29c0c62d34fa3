/**
 * Figures for the report: transformEnv time and heap on Vedfolnir-shaped .env files of growing size.
 * Run: `npx node test/unit/env/measure-scale.ts` (prints one JSON line per size).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformEnv } from '../../../lib/env/index.ts';

const base = readFileSync(join(import.meta.dirname, '../../../fixtures/env/vedfolnir-macos/input.env'), 'utf8');
for (const copies of [1, 10, 100, 1000]) {
  // Distinct keys per copy, so duplicates do not dominate the warnings.
  const text = Array.from({ length: copies }, (_, i) => (i === 0 ? base : base.replace(/^(export )?([A-Z_]+)=/gmu, `$1$2_${i}=`))).join('');
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const r = transformEnv(text);
  const ms = performance.now() - t0;
  const again = transformEnv(r.env);
  console.log(JSON.stringify({
    lines: text.split('\n').length, bytes: text.length, ms: Math.round(ms), heapDeltaMB: Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e5) / 10,
    secrets: Object.keys(r.secrets).length, changes: r.changes.length, diffLines: r.diff.split('\n').length, idempotent: again.env === r.env,
  }));
}
