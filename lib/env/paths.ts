/**
 * Host paths in values: an absolute path under a host directory whose data a volume carries becomes
 * the path inside the container (`/Users/me/vedfolnir/storage/images` → `/app/storage/images`).
 * Relative paths stay. A path that looks like the operator's machine but no volume carries is reported.
 */
import { posix } from 'node:path';

/** One volume's two ends: the host directory and where the container sees it. */
export interface PathMapping {
  readonly host: string;
  readonly container: string;
}

/** Host-only locations (macOS and Linux homes, Homebrew, mounted volumes) that never exist in a container. */
const HOST_ONLY = /^\/(Users|home|Volumes|private|opt\/homebrew|usr\/local\/(var|etc|opt|Cellar)|var\/folders)\//u;

const trimSlash = (p: string) => (p.length > 1 ? p.replace(/\/+$/u, '') : p);

/** The mappings, normalised and longest host path first (so the most specific volume wins). */
export function normalizeMappings(mappings: readonly PathMapping[]): PathMapping[] {
  const seen = new Set<string>();
  return mappings
    .map((m) => ({ host: trimSlash(posix.normalize(m.host)), container: trimSlash(posix.normalize(m.container)) }))
    .filter((m) => m.host.startsWith('/') && !seen.has(m.host) && seen.add(m.host))
    .sort((a, b) => b.host.length - a.host.length);
}

/** The container path for an absolute host path, or undefined; `unmapped` when it looks host-only. */
export function mapHostPath(value: string, mappings: readonly PathMapping[]): { value: string; mapping: PathMapping } | { unmapped: true } | undefined {
  if (!value.startsWith('/') || value.startsWith('//') || /\s/u.test(value)) return undefined;
  for (const m of mappings) {
    if (value === m.host || value.startsWith(`${m.host}/`)) return { value: m.container + value.slice(m.host.length), mapping: m };
  }
  return HOST_ONLY.test(value) ? { unmapped: true } : undefined;
}
