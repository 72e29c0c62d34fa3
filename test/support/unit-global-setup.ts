/** Unit global setup: the run's own temp directory (run-tmp.ts), removed at the end. */
import { scopeRunTmp } from './run-tmp.ts';

export default function setup(): () => void {
  return scopeRunTmp('unit');
}
