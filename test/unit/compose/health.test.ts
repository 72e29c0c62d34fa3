import { describe, expect, it } from 'vitest';
import { waitHealthy, type ServiceHealth } from '../../../lib/compose/health.ts';
import type { FerryError } from '../../../lib/core/errors.ts';

/** A fake clock and a scripted probe: each service walks through its states, one per poll. */
function scenario(script: Record<string, ServiceHealth[]>) {
  let t = 0;
  const polls: string[] = [];
  const client = { project: 'p', containerIds: async () => ['x'], logs: async (s: string) => `${s} line 1\n${s} line 2` };
  const opts = {
    clock: { now: () => t, sleep: async (ms: number) => { t += ms; } },
    probe: async (s: string) => { polls.push(s); const states = script[s]!; return states.length > 1 ? states.shift()! : states[0]!; },
  };
  return { client, opts, polls, elapsed: () => t };
}

describe('waitHealthy', () => {
  it('resolves once every service is healthy (or running without a healthcheck)', async () => {
    const s = scenario({ mysql: ['starting', 'starting', 'healthy'], redis: ['running'] });
    await waitHealthy(s.client, ['mysql', 'redis'], { ...s.opts, intervalMs: 500 });
    expect(s.elapsed()).toBe(1000);
    expect(s.polls).toEqual(['mysql', 'redis', 'mysql', 'mysql']);
  });

  it('fails after its budget, naming service, state and budget, with the last log lines', async () => {
    const s = scenario({ mysql: ['starting'] });
    const err = await waitHealthy(s.client, ['mysql'], { ...s.opts, timeoutMs: 5000, intervalMs: 1000 }).catch((e: FerryError) => e);
    expect(err).toMatchObject({ code: 'E_COMPOSE_UNHEALTHY', detail: 'mysql line 1\nmysql line 2' });
    expect((err as FerryError).message).toBe('service mysql of compose project p: not healthy after 5000ms (state: starting)');
    expect(s.elapsed()).toBe(5000);
  });

  it('fails at once when a container has exited', async () => {
    const s = scenario({ redis: ['exited'] });
    const err = await waitHealthy(s.client, ['redis'], s.opts).catch((e: FerryError) => e);
    expect((err as FerryError).message).toMatch(/redis .*it is exited/);
    expect(s.elapsed()).toBe(0);
  });

  it('stops when aborted', async () => {
    const s = scenario({ mysql: ['starting'] });
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    await expect(waitHealthy(s.client, ['mysql'], { ...s.opts, signal: ac.signal })).rejects.toThrow('interrupted');
  });
});
