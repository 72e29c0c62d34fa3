/**
 * Variables the stack's own compose files set in an app service's `environment:`. Compose gives those
 * precedence over `env_file`, so for them the app sees the stack's value, not the one from the .env:
 * env-transform reports each (it does not override the stack, whose `environment:` is deliberate,
 * e.g. FLASK_ENV per profile).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

/** One variable an app service's `environment:` sets, and where. */
export interface ShadowedKey {
  readonly key: string;
  readonly service: string;
  readonly file: string;
}

type ServiceDoc = { environment?: Record<string, unknown> | string[] | null };

function environmentKeys(env: ServiceDoc['environment']): string[] {
  if (Array.isArray(env)) return env.map((e) => String(e).split('=')[0] ?? '').filter(Boolean);
  return env && typeof env === 'object' ? Object.keys(env) : [];
}

/** The `environment:` keys of `services` in each compose file under `composeDir` (a file that is absent or unreadable YAML is skipped). */
export async function shadowedKeys(composeDir: string, files: readonly string[], services: readonly string[]): Promise<ShadowedKey[]> {
  const out: ShadowedKey[] = [];
  for (const file of files) {
    const text = await readFile(join(composeDir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let doc: { services?: Record<string, ServiceDoc | null> } | null;
    try { doc = parse(text, { merge: true }) as typeof doc; } catch { continue; }
    for (const service of services) for (const key of environmentKeys(doc?.services?.[service]?.environment)) out.push({ key, service, file });
  }
  return out;
}
