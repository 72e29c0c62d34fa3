/**
 * The demo's images: FERRY_DEMO_MYSQL_IMAGE / FERRY_DEMO_REDIS_IMAGE / FERRY_DEMO_POSTGRES_IMAGE when set,
 * else the official mysql:8.0 / redis:7-alpine / postgres:15 when present locally, else the test bed's
 * stand-ins (testbed/.images.json).
 */
import { readFile } from 'node:fs/promises';
import { exec } from '../lib/util/exec.ts';
import { TESTBED_IMAGES } from './paths.ts';

export interface DemoImages { readonly mysql: string; readonly redis: string; readonly postgres: string; readonly source: string }

async function presentLocally(image: string): Promise<boolean> {
  return (await exec('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).exitCode === 0;
}

export async function demoImages(env: NodeJS.ProcessEnv = process.env, probe = true): Promise<DemoImages> {
  if (env.FERRY_DEMO_MYSQL_IMAGE && env.FERRY_DEMO_REDIS_IMAGE && env.FERRY_DEMO_POSTGRES_IMAGE) {
    return { mysql: env.FERRY_DEMO_MYSQL_IMAGE, redis: env.FERRY_DEMO_REDIS_IMAGE, postgres: env.FERRY_DEMO_POSTGRES_IMAGE, source: 'FERRY_DEMO_*_IMAGE' };
  }
  let testbed: { mysql?: string; redis?: string; postgres?: string } = {};
  try { testbed = JSON.parse(await readFile(TESTBED_IMAGES, 'utf8')) as typeof testbed; } catch { /* no test bed: official images */ }
  const pickOne = async (official: string, standin: string | undefined, override: string | undefined) =>
    override ?? (!standin || (probe && (await presentLocally(official))) ? official : standin);
  return {
    mysql: await pickOne('mysql:8.0', testbed.mysql, env.FERRY_DEMO_MYSQL_IMAGE),
    redis: await pickOne('redis:7-alpine', testbed.redis, env.FERRY_DEMO_REDIS_IMAGE),
    postgres: await pickOne('postgres:15', testbed.postgres, env.FERRY_DEMO_POSTGRES_IMAGE),
    source: testbed.mysql ? 'local official images, else testbed/.images.json' : 'official images',
  };
}
