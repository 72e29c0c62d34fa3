/** Moved to lib/util/free-port.ts; this re-export goes once every importer has switched (lib/playbooks/prepare-rehearse.ts). */
export { freePort } from '../util/free-port.ts';
