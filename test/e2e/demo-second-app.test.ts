/**
 * `migrate --demo=veogen` as the operator runs it (a child process, --json): the second app's PostgreSQL
 * 15 and Redis sources and its uploads/outputs trees migrate into a throwaway copy of
 * compose/examples/veogen; exit 0, every store's verify ok in the report (the postgres tables, the Redis
 * dbs, each volume's directories), and afterwards nothing of the demo is left: no source container, no
 * stack container, no volume.
 */
import { readFile, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { exec } from '../../lib/util/exec.ts';
import { DEMO_RUN_LABEL } from '../../demo/index.ts';
import { startPlaybook, type PlaybookRun } from '../support/playbook-process.ts';

const logs = (r: PlaybookRun) => r.events.filter((e) => e.type === 'log').map((e) => String(e.message));

interface ReportStore { id: string; engine: string; ok: boolean; entries: Array<{ subject: string; ok: boolean; counts?: Record<string, number> }> }

async function lines(args: string[]): Promise<string[]> {
  const r = await exec('docker', args);
  expect(r.exitCode).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('migrate --demo=veogen', { timeout: 1_200_000 }, () => {
  it('migrates the second app (postgres, redis, two volumes), verifies each store, and removes every throwaway container and volume', async () => {
    const started = startPlaybook('migrate', ['--demo=veogen', '--json'], {});
    const r = await started.done;
    expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(r.exitCode).toBe(0);

    const stack = /target stack (ferry-demo-([0-9a-f]{6}))/.exec(logs(r).join('\n'));
    expect(stack).not.toBeNull();
    const [, project, hex] = stack!;
    const reportPath = logs(r).map((l) => /^demo report kept: (.+\.json)$/.exec(l)?.[1]).find(Boolean);
    expect(reportPath).toBeDefined();
    const report = JSON.parse(await readFile(reportPath!, 'utf8')) as { ok: boolean; stores: ReportStore[] };
    await rm(reportPath!, { force: true });
    await rm(reportPath!.replace(/\.json$/, '.md'), { force: true });

    expect(report.ok).toBe(true);
    expect(report.stores.map((s) => [s.id, s.engine, s.ok])).toEqual([
      ['veogen-db', 'postgres', true], ['cache', 'redis', true], ['uploads', 'files', true], ['outputs', 'files', true],
    ]);
    for (const s of report.stores) {
      expect(s.entries.length, s.id).toBeGreaterThan(0);
      expect(s.entries.filter((e) => !e.ok), s.id).toEqual([]);
    }
    const db = report.stores[0]!;
    expect(db.entries.find((e) => e.subject === 'table public.orders')?.counts?.targetRows).toBe(4000);
    // uploads: 40 images in 7 user directories; outputs: 10 clips at the top.
    const files = (id: string) => report.stores.find((s) => s.id === id)!.entries.reduce((n, e) => n + (e.counts?.files ?? 0), 0);
    expect(files('uploads')).toBe(40);
    expect(files('outputs')).toBe(10);

    // Nothing of the demo is left: its source servers (labelled with the run), the stack's containers, its volumes.
    expect(await lines(['ps', '-aq', '--filter', `label=${DEMO_RUN_LABEL}=${started.child.pid}-${hex}`])).toEqual([]);
    expect(await lines(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])).toEqual([]);
    expect((await lines(['volume', 'ls', '-q'])).filter((v) => v.startsWith(`${project}_`))).toEqual([]);
  });
});
