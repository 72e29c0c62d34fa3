import { describe, expect, it } from 'vitest';
import * as ferry from '../../lib/index.ts';

describe('lib/index.ts: the public surface', () => {
  it('exports the library calls a playbook is made of', () => {
    for (const name of ['defineStep', 'FerryError', 'runPlaybook', 'loadConfig', 'normalizeConfig', 'defineConfig', 'transformEnv', 'Redactor', 'createMemoryJournal', 'createFileJournal']) {
      expect(typeof (ferry as Record<string, unknown>)[name], name).toBe('function');
    }
    for (const ns of ['mysql', 'redis', 'compose', 'steps']) {
      expect(typeof (ferry as Record<string, unknown>)[ns], ns).toBe('object');
    }
  });

  it('transformEnv is pure and rewrites localhost services for the stack', () => {
    const r = ferry.transformEnv('REDIS_URL=redis://localhost:6379/0\nOLLAMA_URL=http://localhost:11434\n');
    expect(r.env).toContain('redis:6379');
    expect(r.env).toContain('host.docker.internal:11434');
    expect(Array.isArray(r.warnings)).toBe(true);
    expect(typeof r.diff).toBe('string');
  });
});
