/**
 * A container whose image's HEALTHCHECK is the test of its start only. The test bed's images check every
 * 1-2 s for as long as they run, each check a `docker exec` (runc, a shell, a client): on this 2-core
 * machine two checking servers took ~10 % of both cores during a bench copy (perf, every process), CPU
 * the tools being measured did not get. The benches start their servers with the image's own check as
 * the wait (run until it passes, as Wait.forHealthCheck waits for it) and the recurring check off; the
 * official images have none, so this is also how an operator's server runs. Tests keep the default.
 */
import { execa } from 'execa';
import { Wait, type GenericContainer } from 'testcontainers';

/** The image's HEALTHCHECK as one shell command (undefined: it has none). */
export async function imageHealthCommand(image: string): Promise<string | undefined> {
  const raw = (await execa('docker', ['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', image])).stdout.trim();
  const hc = raw && raw !== 'null' ? (JSON.parse(raw) as { Test?: string[] }) : undefined;
  const [kind, ...rest] = hc?.Test ?? [];
  if (kind === 'CMD-SHELL') return rest[0];
  if (kind === 'CMD') return rest.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return undefined;
}

/**
 * `c` (started from `image`) waiting until the image's own health command passes, with the recurring
 * check disabled; an image without one keeps `c` as it is (its wait strategy decides).
 */
export async function healthAtStartOnly<T extends GenericContainer>(c: T, image: string): Promise<T> {
  const cmd = await imageHealthCommand(image);
  if (!cmd) return c;
  // Docker's way to disable an image's check: Test ["NONE"] (Testcontainers' type lists only CMD forms).
  return c.withHealthCheck({ test: ['NONE'] } as unknown as Parameters<T['withHealthCheck']>[0]).withWaitStrategy(Wait.forSuccessfulCommand(cmd));
}
