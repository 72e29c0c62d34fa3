/**
 * SIGKILL at 20 random instants: each time the journal is whole (previous or next, never torn), and
 * the same command run again (taking the dead run's lock over by itself) ends in the state of an
 * uninterrupted run.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonLines, resultOf, run, scratch, snapshot, start } from '../fixtures-playbook/drive.ts';

const SLOW = ['--lines', '2000', '--delay-ms', '20', '--json'];
const KILLS = 20;

describe('SIGKILL at random instants', { timeout: 600_000 }, () => {
  it(`resumes to the uninterrupted end state after each of ${KILLS} kills`, async () => {
    const ref = scratch();
    const clean = await run([...ref.args, ...SLOW]);
    expect(clean.code).toBe(0);
    // Instants are drawn over the run itself (from run-start), not over the process's startup.
    const duration = resultOf(jsonLines(clean.stdout)).durationMs * 0.9;
    const expected = snapshot(ref.out);
    expect(Object.keys(expected)).toEqual(['data.txt', 'ledger.txt', 'summary.json', 'upper.txt']);

    const landed: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const s = scratch();
      const at = Math.random() * duration;
      const p = start([...s.args, ...SLOW]);
      let timer: NodeJS.Timeout | undefined;
      const poll = setInterval(() => {
        if (!p.stdout().includes('"type":"run-start"')) return;
        clearInterval(poll);
        timer = setTimeout(() => p.child.kill('SIGKILL'), at);
      }, 2);
      const killed = await p.done;
      clearInterval(poll);
      clearTimeout(timer);
      const seen = jsonLines(killed.stdout.slice(0, killed.stdout.lastIndexOf('\n') + 1));
      const last = [...seen].reverse().find((e) => e.type.startsWith('step-') || e.type.startsWith('run-'));
      landed.push(killed.signal === 'SIGKILL' ? `${Math.round(at)}ms:${last ? `${last.type}${last.step ? `:${last.step}` : ''}` : 'startup'}` : `${Math.round(at)}ms:finished`);

      const journal = join(s.state, 'journal.fixture.json');
      if (existsSync(journal)) expect(() => JSON.parse(readFileSync(journal, 'utf8'))).not.toThrow();

      const again = await run([...s.args, ...SLOW]);
      expect(again.code, `re-run after a kill at ${Math.round(at)}ms: ${again.stderr}`).toBe(0);
      const end = { result: resultOf(jsonLines(again.stdout)) };
      expect(end.result.status).toBe('ok');
      expect(end.result.steps.every((x) => x.status === 'done' || x.status === 'skipped')).toBe(true);
      expect(snapshot(s.out)).toEqual(expected);
      expect(readdirSync(s.state)).toEqual(['journal.fixture.json']);
    }
    console.log(`uninterrupted run ${Math.round(duration)}ms; kills landed at: ${landed.join(', ')}`);
  });
});
