/**
 * A Vedfolnir-shaped source for playbook e2e tests: MySQL (binlog on, as a Homebrew MySQL 8 has it) and
 * Redis seeded from fixtures/, and a sandbox (config, .env copy, compose copy, state dir) pointing at them.
 */
import { startMysql, startRedis, type MysqlOptions, type StartedMysql, type StartedRedis } from './containers.ts';
import { seedSources } from '../../demo/index.ts';
import { createSandbox, type Sandbox } from './sandbox.ts';

export interface SeededSource {
  readonly my: StartedMysql;
  readonly rd: StartedRedis;
  readonly sb: Sandbox;
  /** Remove the sandbox and both servers. */
  stop(): Promise<void>;
}

export interface SeededSourceOptions {
  readonly redisPassword: string;
  /** Server options of the source MySQL (default: binlog on). */
  readonly mysql?: MysqlOptions;
  /** Fixture size (default 1) and whether Redis gets the 200k-field hash. */
  readonly scale?: number;
  readonly bigHash?: boolean;
}

export async function startSeededSource(o: SeededSourceOptions): Promise<SeededSource> {
  const [my, rd] = await Promise.all([startMysql(o.mysql ?? { command: ['--log-bin=binlog', '--server-id=1'] }), startRedis({ password: o.redisPassword })]);
  await seedSources({
    mysql: { port: my.port, password: my.rootPassword, database: my.database }, redis: { port: rd.port, password: o.redisPassword },
    scale: o.scale ?? 1, ...(o.bigHash !== undefined ? { bigHash: o.bigHash } : {}),
  });
  const sb = await createSandbox({ mysql: { host: my.host, port: my.port, password: my.rootPassword, database: my.database }, redis: { host: rd.host, port: rd.port, password: o.redisPassword } });
  return {
    my, rd, sb,
    stop: async () => { await sb.cleanup(); await Promise.all([my.stop(), rd.stop()]); },
  };
}
