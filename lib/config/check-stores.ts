/**
 * What zod cannot say about the stores as a set: ids unique, one migration port per service, database stores
 * published on a migration port, files stores naming where they land, sources in the engine's form.
 */
import type { ConfigStore } from './schema.ts';
import { redactUrlPasswords } from '../util/redact.ts';

const SCHEMES: Readonly<Record<string, readonly string[]>> = {
  mysql: ['mysql', 'mariadb'], redis: ['redis', 'rediss'], postgres: ['postgres', 'postgresql'],
};

/** One line per problem, in describeIssue's form (`field: got …; expected …`). */
export function checkStores(stores: readonly ConfigStore[], declared: number): string[] {
  const out: string[] = [];
  const first = stores.length - declared;
  const field = (i: number) => (stores[i]!.preset ? `source.${stores[i]!.id}` : `stores[${i - first}]`);
  const ids = new Map<string, number>();
  const ports = new Map<number, number>();
  stores.forEach((s, i) => {
    const f = field(i);
    const seen = ids.get(s.id);
    if (seen !== undefined) out.push(`${f}.id: got "${s.id}"; expected an id no other store has (${field(seen)} has it${stores[seen]!.preset ? ': the preset\'s stores are "mysql" and "redis"' : ''})`);
    else ids.set(s.id, i);
    const schemes = SCHEMES[s.engine];
    if (schemes && !schemes.some((x) => s.source.startsWith(`${x}://`))) {
      out.push(`${f}.source: got "${redactUrlPasswords(s.source)}"; expected a URL starting with ${schemes.map((x) => `${x}://`).join(' or ')} for a ${s.engine} store`);
    }
    if (schemes && s.target.migrationPort === undefined) {
      out.push(`${f}.target.migrationPort: got nothing; expected the 127.0.0.1 port ${s.engine} service "${s.target.service}" is published on during the migration`);
    }
    if (s.engine === 'files' && !s.target.hostPath && !s.target.volume) {
      out.push(`${f}.target: got neither hostPath nor volume; expected where the files land (a host directory the service mounts, or a named volume)`);
    }
    if (s.engine === 'files' && !s.target.containerPath) {
      out.push(`${f}.target.containerPath: got nothing; expected the path inside service "${s.target.service}" where the app sees the files`);
    }
    // Stores held by one service (two schemas of one server) share its port; other services may not.
    const p = s.target.migrationPort;
    if (p !== undefined) {
      const other = ports.get(p);
      if (other !== undefined && stores[other]!.target.service !== s.target.service) {
        out.push(`${f}.target.migrationPort: got ${p}; expected a port no other service uses (${field(other)} publishes service "${stores[other]!.target.service}" on it)`);
      } else if (other === undefined) ports.set(p, i);
    }
    const sibling = stores.findIndex((o, j) => j < i && o.target.service === s.target.service && o.target.migrationPort !== undefined && p !== undefined && o.target.migrationPort !== p);
    if (sibling >= 0) out.push(`${f}.target.migrationPort: got ${p}; expected ${stores[sibling]!.target.migrationPort}, the port ${field(sibling)} publishes the same service "${s.target.service}" on`);
  });
  return out;
}

