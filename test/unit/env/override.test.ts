/**
 * The generated compose override: every value it quotes reads back exactly, in the YAML 1.2 reader
 * compose v2 uses (here the `yaml` package) and in PyYAML (YAML 1.1, compose v1), `$` doubled for
 * compose's interpolation.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeOverride } from '../../../lib/env/index.ts';

const TRICKY: Record<string, string> = {
  NEWLINES: 'one\ntwo\r\nthree\n', LEADING: '  padded ', DOLLAR: 'a$b $$ ${X} $', QUOTES: `'"\\`, HASH: 'a #b',
  SEPARATORS: 'line\u2028para\u2029nel\u0085del\u007f', CONTROL: 'bell\u0007tab\tnul-free', EMPTY: '', UNICODE: 'Ærø ✓ 😀',
  'a-b': 'name a shell rejects', 'x.y': 'yes', TRUE: 'true', NUMBER: '0123',
};

const override = composeOverride({
  file: '.env', services: ['vedfolnir', 'worker'], environment: TRICKY, extraHosts: ['host.docker.internal:host-gateway'],
  secrets: ['redis_password', 'flask_secret_key', 'redis_password'], secretFile: (n) => `./secrets/${n}.txt`,
});
type Doc = { services: Record<string, { environment: Record<string, string>; extra_hosts: string[]; secrets: string[] }>; secrets: Record<string, { file: string }> };
const unescape = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\$/gu, '$')]));

describe('composeOverride', () => {
  it('reads back exactly in a YAML 1.2 reader, for every app service', () => {
    const doc = parse(override) as Doc;
    for (const s of ['vedfolnir', 'worker']) {
      expect(unescape(doc.services[s]?.environment ?? {})).toEqual(TRICKY);
      expect(doc.services[s]?.extra_hosts).toEqual(['host.docker.internal:host-gateway']);
      expect(doc.services[s]?.secrets).toEqual(['flask_secret_key', 'redis_password']);
    }
    expect(doc.secrets).toEqual({ flask_secret_key: { file: './secrets/flask_secret_key.txt' }, redis_password: { file: './secrets/redis_password.txt' } });
    expect(override).not.toMatch(/[\u2028\u2029\u0085\u007f]/u);
  });

  it.skipIf(spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status !== 0)('reads back exactly in PyYAML (compose v1)', () => {
    const out = execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: override, encoding: 'utf8' });
    const doc = JSON.parse(out) as Doc;
    expect(unescape(doc.services.vedfolnir?.environment ?? {})).toEqual(TRICKY);
  });

  it('is a valid override with nothing to carry', () => {
    const empty = composeOverride({ file: '.env', services: ['vedfolnir'], environment: {}, extraHosts: [], secrets: [], secretFile: (n) => n });
    expect(parse(empty)).toEqual({ services: { vedfolnir: { labels: {} } } });
    // No file at all: docker-compose v1 refuses to merge a file that is only `services: {}`.
    expect(composeOverride({ file: '.env', services: [], environment: {}, extraHosts: [], secrets: [], secretFile: (n) => n })).toBe('');
  });
});
