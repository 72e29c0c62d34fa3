/**
 * Which Compose is installed: `docker compose` (v2, preferred) or `docker-compose` (v1). Both read the
 * Compose Specification; ferry drives them with the same arguments.
 */
import { FerryError } from '../core/errors.ts';
import { exec as runCommand } from '../util/exec.ts';

export type ComposeKind = 'v2' | 'v1';

export interface ComposeCli {
  readonly kind: ComposeKind;
  /** Executable to run (`docker` or `docker-compose`). */
  readonly file: string;
  /** Arguments before compose's own (`['compose']` for v2). */
  readonly prefix: readonly string[];
  readonly version: string;
}

const CANDIDATES: readonly Omit<ComposeCli, 'version'>[] = [
  { kind: 'v2', file: 'docker', prefix: ['compose'] },
  { kind: 'v1', file: 'docker-compose', prefix: [] },
];

let cached: Promise<ComposeCli> | undefined;

/** Detect once per process; `kinds` restricts the candidates (tests drive each version present). */
export function detectCompose(kinds: readonly ComposeKind[] = ['v2', 'v1']): Promise<ComposeCli> {
  if (kinds.length === 2 && cached) return cached;
  const found = probe(kinds);
  if (kinds.length === 2) cached = found.catch((e: unknown) => { cached = undefined; throw e; });
  return found;
}

/** Every Compose available here, v2 first. */
export async function availableComposes(): Promise<ComposeCli[]> {
  const out: ComposeCli[] = [];
  for (const kind of ['v2', 'v1'] as const) {
    try { out.push(await probe([kind])); } catch { /* not installed */ }
  }
  return out;
}

async function probe(kinds: readonly ComposeKind[]): Promise<ComposeCli> {
  const tried: string[] = [];
  for (const c of CANDIDATES.filter((x) => kinds.includes(x.kind))) {
    const r = await runCommand(c.file, [...c.prefix, 'version', '--short'], { timeoutMs: 20_000 });
    const version = r.stdout.trim().replace(/^v/, '');
    if (r.exitCode === 0 && /^\d+\.\d+/.test(version)) return { ...c, version };
    tried.push(`${[c.file, ...c.prefix].join(' ')}: ${(r.failure ?? r.stderr.trim().split('\n')[0]) || `exit ${r.exitCode}`}`);
  }
  throw new FerryError('E_COMPOSE_MISSING', `no Docker Compose found (tried ${tried.join('; ')})`, {
    hint: 'install Docker Compose v2 (the `docker compose` plugin) or docker-compose v1, then re-run',
  });
}
