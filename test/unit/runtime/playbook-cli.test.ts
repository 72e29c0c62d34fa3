import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { NODE, PLAYBOOK, ROOT, jsonLines, resultOf, run, scratch, snapshot, start } from '../../fixtures-playbook/drive.ts';

describe('playbook CLI (fixture playbook, real child processes)', { timeout: 60_000 }, () => {
  it('--help names --config, --dry-run and --json, with node and with ts-node', async () => {
    for (const bin of [undefined, [join(ROOT, 'node_modules/.bin/ts-node'), join(ROOT, 'test/fixtures-playbook/playbook.ts')]]) {
      const r = await run(['--help'], bin);
      expect(r.code).toBe(0);
      for (const flag of ['--config FILE', '--dry-run', '--json', '--break-stale-lock', '--undo-on-failure', '--out']) expect(r.stdout).toContain(flag);
    }
  });

  it('refuses an unknown flag with a hint', async () => {
    const r = await run(['--frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^✖ .*frobnicate/m);
    expect(r.stderr).toMatch(/^ {2}hint: see --help/m);
  });

  it('--dry-run exits 2 with changes pending and writes nothing; 0 once done', async () => {
    const s = scratch();
    const plan = await run([...s.args, '--dry-run']);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('● Generate data.txt [generate]: would run');
    expect(plan.stdout).toContain('4 of 4 steps have changes pending');
    expect(existsSync(s.out)).toBe(false);
    expect(existsSync(s.state)).toBe(false);
    const json = await run([...s.args, '--dry-run', '--json']);
    expect(json.code).toBe(2);
    const lines = jsonLines(json.stdout);
    expect(lines.filter((e) => e.type === 'plan').map((e) => [e.step, e.plan.pending])).toEqual([['generate', true], ['transform', true], ['ledger', true], ['summary', true]]);
    expect(resultOf(lines)).toMatchObject({ status: 'planned', pending: true });
    expect(existsSync(s.state)).toBe(false);

    expect((await run(s.args)).code).toBe(0);
    const again = await run([...s.args, '--dry-run']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do.');
  });

  it('renders plain lines when stdout is not a TTY: each step, its progress, its outcome', async () => {
    const s = scratch();
    const r = await run([...s.args, '--lines', '1000', '--delay-ms', '0']);
    expect(r.code).toBe(0);
    for (const title of ['Generate data.txt', 'Transform data.txt into upper.txt', 'Record the transform in ledger.txt', 'Write summary.json']) {
      expect(r.stdout).toMatch(new RegExp(`^✔ ${title} \\(\\d`, 'm'));
    }
    expect(r.stdout).toMatch(/^› 1,000\/1,000 lines · [\d,]+ lines\/s · ETA 0ms$/m);
    const again = await run([...s.args, '--lines', '1000']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^↓ Generate data.txt \[SKIPPED: completed at \d{4}-.*\]$/m);
    expect(again.stdout).toMatch(/^✔ fixture completed at \d{4}-\S+: nothing to do\. To run a step and those after it again: --restart-from STEP \(everything: --restart-from generate\)$/m);
    const redo = await run([...s.args, '--lines', '1000', '--restart-from', 'summary']);
    expect(redo.stdout).toMatch(/^↓ Generate data.txt \[SKIPPED: done at .*; inputs unchanged and verify holds\]$/m);
    expect(redo.stdout).toMatch(/^✔ Write summary.json \(\d/m);
  });

  it('on a TTY renders with listr2\'s DefaultRenderer: a task per step, Run and Verify subtasks', async () => {
    const s = scratch();
    const cmd = ['stty cols 120 rows 40;', NODE, PLAYBOOK, ...s.args, '--lines', '1000', '--delay-ms', '0', '--fail-at', 'ledger'].join(' ');
    const r = await run(['-qec', cmd, '/dev/null'], ['script']);
    const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
    const last = screen.slice(screen.lastIndexOf('Generate data.txt ('));
    expect(last).toMatch(/^Generate data\.txt \(\d+ms\)\n {2}✔ Run\n {2}✔ Verify\n✔ Transform data\.txt into upper\.txt \(\d+ms\)\n {2}✔ Run\n {2}✔ Verify\n❯ Record the transform in ledger\.txt \(undone\)\n {2}✖ Run\n {4}› ledger: failing on purpose after appending\n/);
    expect(last).toMatch(/^⚠ Write summary\.json\n {2}↓ not run: "ledger" failed$/m);
    expect(last).toMatch(/^✖ ledger: failing on purpose after appending$/m);
  });

  it('--json writes only JSON lines, one per state change and progress tick', async () => {
    const s = scratch();
    const r = await run([...s.args, '--json', '--lines', '1000', '--delay-ms', '0']);
    expect(r.code).toBe(0);
    const events = jsonLines(r.stdout);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('run-start');
    expect(types.at(-1)).toBe('run-end');
    for (const id of ['generate', 'transform', 'ledger', 'summary']) {
      const mine = events.filter((e) => e.step === id).map((e) => e.type);
      expect(mine[0]).toBe('step-start');
      expect(mine.at(-1)).toBe('step-done');
    }
    const ticks = events.filter((e) => e.type === 'progress' && e.step === 'generate');
    expect(ticks.map((t) => t.done)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(ticks[0]).toMatchObject({ unit: 'lines', total: 1000, ratePerSec: expect.any(Number), elapsedSec: expect.any(Number) });
    const end = { result: resultOf(events) };
    expect(end.result.status).toBe('ok');
    expect(end.result.steps.map((x) => x.status)).toEqual(['done', 'done', 'done', 'done']);

    const skip = jsonLines((await run([...s.args, '--json', '--lines', '1000'])).stdout);
    expect(skip.filter((e) => e.type === 'step-skip').map((e) => e.step)).toEqual(['generate', 'transform', 'ledger', 'summary']);
    expect(resultOf(skip)).toMatchObject({ status: 'ok', completedAt: expect.stringMatching(/^\d{4}-/) });
    expect(skip.map((e) => e.type)).toEqual(['run-start', 'log', 'step-skip', 'step-skip', 'step-skip', 'step-skip', 'run-end']);
  });

  it('--json reports a failure, the undo of its partial effect, and the rest not run; exit 1', async () => {
    const s = scratch();
    const r = await run([...s.args, '--json', '--fail-at', 'transform', '--delay-ms', '0']);
    expect(r.code).toBe(1);
    const events = jsonLines(r.stdout);
    expect(events.filter((e) => e.step === 'transform').map((e) => e.type).filter((t) => t !== 'progress')).toEqual(['step-start', 'step-phase', 'step-fail', 'step-undo', 'step-undone']);
    const end = { result: resultOf(events) };
    expect(end.result.steps.map((x) => `${x.id}:${x.status}`)).toEqual(['generate:done', 'transform:failed', 'ledger:not-run', 'summary:not-run']);
    expect(existsSync(join(s.out, 'upper.txt'))).toBe(false);
  });

  it('plain output names the failure with a hint; --undo-on-failure undoes completed steps too', async () => {
    const s = scratch();
    const r = await run([...s.args, '--fail-at', 'ledger', '--undo-on-failure', '--delay-ms', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^✖ ledger: failing on purpose after appending$/m);
    expect(r.stderr).toMatch(/^ {2}hint: /m);
    expect(snapshot(s.out)).toEqual({ 'ledger.txt': '' });
    const journal = JSON.parse(readFileSync(join(s.state, 'journal.fixture.json'), 'utf8'))!;
    expect(journal.entries).toEqual([]);
  });

  it('SIGINT rolls back the in-flight step, exits 130, and the next run resumes to the same end state', async () => {
    const ref = scratch();
    expect((await run([...ref.args, '--delay-ms', '0'])).code).toBe(0);

    const s = scratch();
    const p = start([...s.args, '--json', '--delay-ms', '30']);
    await new Promise<void>((res) => {
      const poll = setInterval(() => {
        if (p.stdout().includes('"type":"progress","unit":"lines","done":300')) { clearInterval(poll); res(); }
      }, 10);
    });
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(130);
    const events = jsonLines(r.stdout);
    expect(events.filter((e) => e.step === 'generate' && e.type !== 'progress').map((e) => e.type)).toEqual(['step-start', 'step-phase', 'step-fail', 'step-undo', 'step-undone']);
    expect(events.find((e) => e.type === 'step-fail')?.error.code).toBe('E_CANCELLED');
    expect(resultOf(events).status).toBe('cancelled');
    expect(existsSync(join(s.out, 'data.txt'))).toBe(false);
    expect(existsSync(join(s.state, 'lock'))).toBe(false);

    expect((await run([...s.args, '--delay-ms', '0'])).code).toBe(0);
    expect(snapshot(s.out)).toEqual(snapshot(ref.out));
  });

  it('after a SIGKILL, the same command takes the dead run\'s lock over (logged) and resumes', async () => {
    const s = scratch();
    const p = start([...s.args, '--json', '--delay-ms', '30']);
    await new Promise<void>((res) => {
      const poll = setInterval(() => { if (p.stdout().includes('"type":"step-start"')) { clearInterval(poll); res(); } }, 5);
    });
    p.child.kill('SIGKILL');
    await p.done;
    expect(existsSync(join(s.state, 'lock'))).toBe(true);
    const resumed = await run([...s.args, '--delay-ms', '0']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`^⚠ took over the run lock left by pid ${p.child.pid} on \\S+ \\(.*\\), which no longer runs: resuming from the journal$`, 'm'));
    expect(existsSync(join(s.state, 'lock'))).toBe(false);
  });

  it('refuses a lock held by a live process, naming its pid and --break-stale-lock', async () => {
    const s = scratch();
    mkdirSync(s.state, { recursive: true });
    writeFileSync(join(s.state, 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), time: '2026-01-01T00:00:00Z', playbook: 'fixture' }));
    const refused = await run([...s.args, '--delay-ms', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`pid ${process.pid}`);
    expect(refused.stderr).toMatch(/hint: .*--break-stale-lock/);
    expect((await run([...s.args, '--delay-ms', '0', '--break-stale-lock'])).code).toBe(0);
  });

  it('names the config field, value and expected form; --json puts the error on one JSON line', async () => {
    const s = scratch();
    const cfg = join(s.out, '..', 'ferry.config.json');
    writeFileSync(cfg, JSON.stringify({ source: { redis: { url: 'redis://:hunter2-secret@127.0.0.1:6379' } }, app: { envFile: '.env' }, target: { composeDir: '.', project: 'Bad Name', migrationPorts: { redis: 'high' } } }));
    const args = ['--config', cfg, '--out', s.out];
    const r = await run(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^✖ ferry\.config\.json: target\.project: got "Bad Name"; expected lowercase letters, digits, _ and - \(and 1 more\)$/m);
    expect(r.stderr).toMatch(/^ {4}target\.migrationPorts\.redis: got "high"; expected number/m);
    const j = await run([...args, '--json']);
    expect(j.code).toBe(1);
    const lines = jsonLines(j.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'error', error: { code: 'E_CONFIG', hint: expect.stringContaining('ferry.config.json') } });
    expect(j.stdout + j.stderr + r.stderr).not.toContain('hunter2-secret');
  });
});
