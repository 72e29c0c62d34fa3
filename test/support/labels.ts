/** Label on every container, network and volume the test suite creates; the sweep removes them. */
export const TEST_LABEL = 'ferry.test';
