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
