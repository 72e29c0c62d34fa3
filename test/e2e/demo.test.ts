/**
 * `--demo` means something on every playbook: `verify --demo` migrates a fresh demo first and then
 * verifies it (kept with FERRY_DEMO_KEEP=1), `rollback --demo` reuses that kept, migrated demo and rolls
 * it back, `rehearse --demo` rehearses into a throwaway stack; each exits 0. The demo's storage/ (an
 * image tree) is a files store verified like the databases. The kept demo is removed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { discardKeptDemo } from '../../demo/index.ts';
import { runPlaybookProcess, type PlaybookRun } from '../support/playbook-process.ts';

const logs = (r: PlaybookRun) => r.events.filter((e) => e.type === 'log').map((e) => String(e.message));
const result = (r: PlaybookRun) => (r.events.find((e) => e.type === 'run-end') as { result: { status: string; steps: Array<{ id: string; status: string }> } } | undefined)?.result;

describe('--demo on every playbook', { timeout: 1_800_000 }, () => {
  afterAll(async () => { await discardKeptDemo(); });

  it('verify --demo migrates the demo first, then verifies it: exit 0', async () => {
    await discardKeptDemo();
    const r = await runPlaybookProcess('verify', ['--demo', '--json'], { FERRY_DEMO_KEEP: '1' });
    expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(r.exitCode).toBe(0);
    expect(logs(r)).toContain('demo: migrating the demo first (the migrate playbook), then the playbook asked for');
    expect(logs(r).some((l) => l.startsWith('demo migrate: ✔ '))).toBe(true);
    expect(result(r)?.status).toBe('ok');
    expect(result(r)!.steps.length).toBeGreaterThan(0);
    expect(result(r)!.steps.every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
    // The demo carries Vedfolnir's storage/ (the fixtures' image tree) too: its files store is verified.
    expect(logs(r).some((l) => l.startsWith('demo migrate: ✔ Verify files store storage'))).toBe(true);
    expect(result(r)!.steps.find((s) => s.id === 'verify:storage')?.status).toBe('done');
  });

  it('rollback --demo reuses the kept, migrated demo and rolls it back: exit 0', async () => {
    const r = await runPlaybookProcess('rollback', ['--demo', '--json'], { FERRY_DEMO_KEEP: '1' });
    expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(r.exitCode).toBe(0);
    expect(logs(r).some((l) => l.startsWith('demo: reusing the kept demo in '))).toBe(true);
    expect(logs(r).some((l) => l.startsWith('demo migrate:'))).toBe(false);
    expect(result(r)?.status).toBe('ok');
  });

  it('rehearse --demo rehearses into a throwaway stack: exit 0', async () => {
    const r = await runPlaybookProcess('rehearse', ['--demo', '--json'], {});
    expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(r.exitCode).toBe(0);
    expect(result(r)?.status).toBe('ok');
  });
});
