/**
 * MIGRATION.md is executed: every ```sh block, in order, from the repo root with Node 24 first on
 * PATH and FERRY_CONFIG pointing at a sandbox around real fixture-seeded servers; each block's exit
 * code must be the one its info string states (`sh exit=2`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { StartedMysql, StartedRedis } from '../support/containers.ts';
import { startSeededSource, type SeededSource } from '../support/seeded-source.ts';
import { testImages } from '../support/images.ts';
import type { Sandbox } from '../support/sandbox.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export function shBlocks(markdown: string): Array<{ code: string; exit: number; line: number }> {
  const out: Array<{ code: string; exit: number; line: number }> = [];
  const re = /^( *)```sh exit=(\d+)\n([\s\S]*?)^\1```$/gm;
  for (const m of markdown.matchAll(re)) {
    const indent = m[1]!.length;
    const code = m[3]!.split('\n').map((l) => l.slice(indent)).join('\n').trim();
    out.push({ code, exit: Number(m[2]), line: markdown.slice(0, m.index).split('\n').length + 1 });
  }
  return out;
}

describe('MIGRATION.md command blocks', { timeout: 1_800_000 }, () => {
  let src: SeededSource;
  let my: StartedMysql;
  let rd: StartedRedis;
  let sb: Sandbox;

  beforeAll(async () => {
    src = await startSeededSource({ redisPassword: 'runbook-redis-pw' });
    ({ my, rd, sb } = src);
  });

  afterAll(async () => {
    await src?.stop();
  });

  it('runs every sh block with its stated exit code, and the .env is back to the original at the end', async () => {
    const md = await readFile(join(REPO, 'MIGRATION.md'), 'utf8');
    const blocks = shBlocks(md);
    expect(blocks.map((b) => b.code.split(' ')[1])).toEqual([
      'playbooks/migrate.ts', 'playbooks/migrate.ts', 'playbooks/rehearse.ts', 'playbooks/migrate.ts', 'playbooks/verify.ts', 'playbooks/rollback.ts', 'playbooks/rollback.ts',
    ]);
    const envBefore = await readFile(sb.envPath);
    const env = {
      ...process.env, ...sb.env, FERRY_CONFIG: sb.configPath, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis,
      PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH}`,
    };
    for (const b of blocks) {
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', b.code], { cwd: REPO, env, encoding: 'utf8', maxBuffer: 64 * 1024 ** 2 });
      const tail = `${r.stderr}`.split('\n').slice(-15).join('\n');
      expect(r.status, `MIGRATION.md:${b.line} \`${b.code}\`\n${tail}`).toBe(b.exit);
    }
    expect((await readFile(sb.envPath)).equals(envBefore)).toBe(true);
  });
});
