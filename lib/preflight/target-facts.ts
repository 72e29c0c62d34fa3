/**
 * What the target images are, asked of the images themselves (`mysqld --version`,
 * `redis-server --version` in a throwaway container with no network): no guessing from tags.
 */
import { exec } from '../util/exec.ts';
import type { MysqlTargetFacts } from './mysql-assess.ts';
import { DEFAULT_MYSQL_TARGET } from './mysql-assess.ts';
import type { RedisTargetFacts } from './redis-assess.ts';
import { DEFAULT_REDIS_TARGET } from './redis-assess.ts';

async function versionOf(image: string, entrypoint: string): Promise<string | undefined> {
  const r = await exec('docker', ['run', '--rm', '--pull', 'never', '--network', 'none', '--label', 'ferry.probe=1', '--entrypoint', entrypoint, image, '--version'],
    { timeoutMs: 60_000 });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

const imageVersions = new Map<string, Promise<string | undefined>>();

/** The server version an image runs (`mysqld --version`, `redis-server --version`), or undefined; asked once per process. */
export function probeImageVersion(image: string, kind: 'mysql' | 'redis'): Promise<string | undefined> {
  const key = `${kind} ${image}`;
  let v = imageVersions.get(key);
  if (!v) {
    v = versionOf(image, kind === 'mysql' ? 'mysqld' : 'redis-server').then((out) => {
      const m = out && (kind === 'mysql' ? /Ver\s+(\S+)/ : /v=(\S+)/).exec(out);
      return m ? m[1] : undefined;
    });
    imageVersions.set(key, v);
  }
  return v;
}

export async function probeTargetImages(images: { mysql?: string; redis?: string }): Promise<{ mysql: MysqlTargetFacts; redis: RedisTargetFacts; probed: string[] }> {
  const probed: string[] = [];
  let mysql = DEFAULT_MYSQL_TARGET;
  let redis = DEFAULT_REDIS_TARGET;
  if (images.mysql) {
    const v = await versionOf(images.mysql, 'mysqld');
    const m = v && /Ver\s+(\S+)/.exec(v);
    if (m) { mysql = { ...DEFAULT_MYSQL_TARGET, version: m[1]! }; probed.push(`${images.mysql}: ${m[1]}`); }
  }
  if (images.redis) {
    const v = await versionOf(images.redis, 'redis-server');
    const m = v && /v=(\S+)/.exec(v);
    if (m) { redis = { ...DEFAULT_REDIS_TARGET, version: m[1]! }; probed.push(`${images.redis}: ${m[1]}`); }
  }
  return { mysql, redis, probed };
}
