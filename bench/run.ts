/**
 * `npm run bench -- --engine mysql|redis|postgres|files|cutover --scale N [--repeat R] [--tools a,b] [--json]`
 * Runs ferry and its peers side by side on the same deterministic data in one run; with --json prints
 * one JSON line per measurement, else a table of medians at the end.
 */
import { parseArgs } from 'node:util';
import type { BenchOptions, EngineBench, Measurement } from './types.ts';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'mysql' },
    scale: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '1' },
    tools: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run bench -- --engine mysql|redis|postgres|files|cutover --scale N [--repeat R] [--tools a,b] [--json]');
  process.exit(0);
}
const engines: Record<string, () => Promise<{ default: EngineBench }>> = {
  mysql: () => import('./mysql.ts'),
  redis: () => import('./redis.ts'),
  files: () => import('./files.ts'),
  postgres: () => import('./postgres.ts'),
  cutover: () => import('./cutover.ts'),
};
const load = engines[values.engine];
if (!load) {
  console.error(`Unknown --engine \`${values.engine}\`: expected one of ${Object.keys(engines).join(', ')}`);
  process.exit(1);
}
const scale = Number(values.scale);
const repeat = Number(values.repeat);
if (!(scale > 0) || !Number.isInteger(repeat) || repeat < 1) {
  console.error('Expected `--scale` to be a positive number and `--repeat` a positive integer');
  process.exit(1);
}
const opts: BenchOptions = { scale, repeat, tools: values.tools?.split(',').filter(Boolean), json: values.json };
const all: Measurement[] = [];
const emit = (m: Measurement) => {
  all.push(m);
  if (opts.json) process.stdout.write(JSON.stringify(m) + '\n');
};
// The machine's own costs first (bench/machine.ts): figures from different days read side by side.
emit((await import('./machine.ts')).machineMeasurement(values.engine));
await (await load()).default(opts, emit);
if (!opts.json) {
  const byKey = new Map<string, Measurement[]>();
  for (const m of all) byKey.set(`${m.tool}\t${m.phase}`, [...(byKey.get(`${m.tool}\t${m.phase}`) ?? []), m]);
  const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };
  console.log('tool\tphase\tmedian s\tpeak RSS MB\tverified\truns');
  for (const [k, ms] of byKey) {
    console.log(`${k}\t${median(ms.map((m) => m.seconds)).toFixed(2)}\t${Math.max(...ms.map((m) => m.peakRssMb)).toFixed(0)}\t${ms.every((m) => m.verified)}\t${ms.length}`);
  }
}
