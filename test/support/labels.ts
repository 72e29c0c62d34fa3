/**
 * Labels on every container, network and volume the test suite creates. `ferry.test.run` carries the
 * run's id (`<pid>-<random>`): a run removes its own things at the end, and at the start removes those
 * of runs whose process is gone, so two suites on one engine never reap each other's containers.
 */
export const TEST_LABEL = 'ferry.test';
export const RUN_LABEL = 'ferry.test.run';

export function runId(): string {
  return process.env.FERRY_TEST_RUN ?? `${process.pid}-adhoc`;
}

export function testLabels(): Record<string, string> {
  return { [TEST_LABEL]: '1', [RUN_LABEL]: runId() };
}

/**
 * A user-defined bridge network for a test, carrying the suite's labels (Testcontainers' `new Network()`
 * takes none), so the run's teardown — or the next run's setup, after a kill — removes it with its
 * containers. Stopped like Testcontainers' own: `stop()`.
 */
export async function startTestNetwork(): Promise<import('testcontainers').StartedNetwork> {
  const { getContainerRuntimeClient, StartedNetwork } = await import('testcontainers');
  const { randomUUID } = await import('node:crypto');
  const client = await getContainerRuntimeClient();
  const name = `ferry-test-${randomUUID()}`;
  const network = await client.network.create({ Name: name, CheckDuplicate: true, Driver: 'bridge', Internal: false, Attachable: false, Ingress: false, EnableIPv6: false, Labels: testLabels() });
  return new StartedNetwork(client, name, network);
}
