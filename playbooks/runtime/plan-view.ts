/** `--dry-run` without `--json`: the whole plan as plain text, then one summary line. */
import type { RunResult } from '../../lib/index.ts';
import type { View } from './listr-view.ts';
import { formatPlan } from './format.ts';

export function createPlanView(write: (text: string) => void): View {
  let titles = new Map<string, string>();
  const skipped = new Map<string, string>();
  return {
    onEvent(e) {
      if (e.type === 'run-start') {
        titles = new Map(e.steps.map((s) => [s.id, s.title]));
        write(`Plan for ${e.playbook} (dry run: nothing will be changed)\n\n`);
      }
      if (e.type === 'step-skip') skipped.set(e.step, e.reason);
    },
    async finish(result: RunResult) {
      for (const s of result.steps) {
        if (s.plan) write(`${formatPlan(titles.get(s.id) ?? s.title, s.id, s.plan, s.reason ?? skipped.get(s.id))}\n`);
      }
      const pending = result.steps.filter((s) => s.plan?.pending).length;
      write(`\n${pending === 0 ? 'Nothing to do.' : `${pending} of ${result.steps.length} steps have changes pending.`} Nothing was changed.\n`);
    },
  };
}
