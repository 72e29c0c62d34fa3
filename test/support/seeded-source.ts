/**
 * A Vedfolnir-shaped source for playbook e2e tests: MySQL (binlog on, as a Homebrew MySQL 8 has it) and
 * Redis seeded from fixtures/, and a sandbox (config, .env copy, compose copy, state dir) pointing at them;
 * or the same on a network of the test's own that the stack follows them on (`startNetworkedSource`).
 */
import { startMysql, startRedis, type MysqlOptions, type StartedMysql, type StartedRedis } from './containers.ts';
import { seedSources } from '../../demo/index.ts';
import mysql from 'mysql2/promise';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { onLoopback } from './containers.ts';
import { testImages } from './images.ts';
import { testLabels, startTestNetwork } from './labels.ts';
import { createSandbox, followOnNetwork, type Sandbox } from './sandbox.ts';

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

export interface NetworkedSource {
  readonly myPort: number;
  readonly rdPort: number;
  readonly sb: Sandbox;
  /** Remove the sandbox, both servers and the network. */
  stop(): Promise<void>;
}

export interface NetworkedSourceOptions {
  readonly rootPassword: string;
  readonly redisPassword: string;
  readonly database: string;
  /** An app writer account besides the app's own (`vedfolnir`): not SUPER, so the freeze holds it back as it holds the app. */
  readonly writer?: { readonly user: string; readonly password: string };
}

/**
 * Seeded MySQL (binlog ROW, server_id 1) and Redis sources on a user-defined network the test creates,
 * reached by the stack by name (`ferry-src-mysql`, `ferry-src-redis`): the sandbox's stores follow them
 * (`followOnNetwork`). The app's account as the host has it (the fixture .env's DB_USER/DB_PASSWORD) and a
 * `live_writes` table for writers.
 */
export async function startNetworkedSource(o: NetworkedSourceOptions): Promise<NetworkedSource> {
  const network = await startTestNetwork();
  const started: StartedTestContainer[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((c) => c.stop({ remove: true, removeVolumes: true }).catch(() => undefined)));
    await network.stop().catch(() => undefined);
  };
  try {
    const [srcMy, srcRd] = await Promise.all([
      onLoopback(new GenericContainer(testImages().mysql).withLabels(testLabels()).withNetwork(network).withNetworkAliases('ferry-src-mysql')
        .withEnvironment({ MYSQL_ROOT_PASSWORD: o.rootPassword, MYSQL_DATABASE: o.database }).withExposedPorts(3306)
        .withCommand(['mysqld', '--max-allowed-packet=256M', '--log-bin=mysql-bin', '--binlog-format=ROW', '--server-id=1'])
        .withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(180_000)).start().then((c) => (started.push(c), c)),
      onLoopback(new GenericContainer(testImages().redis).withLabels(testLabels()).withNetwork(network).withNetworkAliases('ferry-src-redis')
        .withExposedPorts(6379).withCommand(['redis-server', '--requirepass', o.redisPassword])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))).start().then((c) => (started.push(c), c)),
    ]);
    const myPort = srcMy.getMappedPort(3306);
    const rdPort = srcRd.getMappedPort(6379);
    await seedSources({ mysql: { port: myPort, password: o.rootPassword, database: o.database }, redis: { port: rdPort, password: o.redisPassword }, scale: 1 });
    const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'root', password: o.rootPassword });
    try {
      for (const [user, pw] of [['vedfolnir', 'p@ss'], ...(o.writer ? [[o.writer.user, o.writer.password]] : [])] as const) {
        await c.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [user, pw]);
        await c.query(`GRANT ALL ON \`${o.database}\`.* TO ?@'%'`, [user]);
      }
      await c.query(`CREATE TABLE IF NOT EXISTS \`${o.database}\`.live_writes (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL)`);
    } finally {
      await c.end();
    }
    const sb = await createSandbox({ mysql: { host: '127.0.0.1', port: myPort, password: o.rootPassword, database: o.database }, redis: { host: '127.0.0.1', port: rdPort, password: o.redisPassword } });
    await followOnNetwork(sb, { network: network.getName(), mysqlAlias: 'ferry-src-mysql', redisAlias: 'ferry-src-redis', overrideFile: 'docker-compose.follow-net.yml', budgetSeconds: 60 });
    return { myPort, rdPort, sb, stop: async () => { await sb.cleanup(); await stopAll(); } };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
