/**
 * Steps over an in-memory "world" (a Map) that record every hook call: enough to assert the runner's
 * order, skips, undo and resume semantics without any I/O.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineStep, type Step } from '../../../lib/core/step.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import type { Playbook, RunEvent } from '../../../lib/runner/index.ts';

export interface World {
  readonly state: Map<string, string>;
  readonly calls: string[];
  /** Step id → how `run` misbehaves: throw after its partial effect, or wait for the abort. */
  readonly faults: Map<string, 'throw' | 'hang' | 'bad-verify'>;
  /** Inputs the fingerprints read. */
  readonly inputs: Map<string, string>;
  /** What `sourceState` returns. */
  source: string;
}

export function createWorld(): World {
  return { state: new Map(), calls: [], faults: new Map(), inputs: new Map(), source: 'v1' };
}

/** A step that sets `state[id] = value(input)`; partial effect `state[id+':partial']`. */
export function worldStep(w: World, id: string, opts: { check?: boolean; source?: boolean } = {}): Step<unknown, unknown> {
  const value = () => `${id}=${w.inputs.get(id) ?? 'x'}`;
  return defineStep({
    id,
    title: `Step ${id}`,
    fingerprint: () => w.inputs.get(id) ?? 'x',
    ...(opts.check ? {
      async check() {
        w.calls.push(`check:${id}`);
        return w.state.get(id) === value() ? { done: true, reason: `${id} already there` } : { done: false, reason: 'not there' };
      },
    } : {}),
    ...(opts.source ? { async sourceState() { return w.source; } } : {}),
    async plan() {
      w.calls.push(`plan:${id}`);
      return { reads: [`input ${id}`], changes: [`set ${id}`], pending: w.state.get(id) !== value() };
    },
    async run({ signal }) {
      w.calls.push(`run:${id}`);
      w.state.set(`${id}:partial`, 'yes');
      const fault = w.faults.get(id);
      if (fault === 'throw') throw new Error(`${id} broke`);
      if (fault === 'hang') await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      w.state.delete(`${id}:partial`);
      w.state.set(id, value());
      return { data: { value: value() } };
    },
    async verify() {
      w.calls.push(`verify:${id}`);
      if (w.faults.get(id) === 'bad-verify') return { ok: false, findings: [`${id} is wrong`] };
      return w.state.get(id) === value() ? { ok: true, findings: [] } : { ok: false, findings: [`${id} missing`] };
    },
    async undo() {
      w.calls.push(`undo:${id}`);
      w.state.delete(id);
      w.state.delete(`${id}:partial`);
    },
  });
}

export function playbookOf(w: World, ids: string[], opts: Record<string, { check?: boolean; source?: boolean }> = {}): Playbook<unknown, unknown> {
  return { id: 'test', title: 'Test playbook', steps: ids.map((id) => worldStep(w, id, opts[id] ?? {})) };
}

/** The options every run shares; the state directory (lock) is a fresh temp dir. */
export function base() {
  return { config: {}, ctx: {}, stateDir: mkdtempSync(join(tmpdir(), 'ferry-runner-')), redactor: new Redactor() };
}

export function statuses(r: { steps: readonly { id: string; status: string }[] }): string[] {
  return r.steps.map((s) => `${s.id}:${s.status}`);
}

export function collect(): { events: RunEvent[]; onEvent: (e: RunEvent) => void } {
  const events: RunEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}
