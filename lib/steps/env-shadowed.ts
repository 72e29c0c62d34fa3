/**
 * What env-transform reads in the stack's own compose files: the services that load an env file, and
 * the variables an app service's `environment:` sets. Compose gives those precedence over `env_file`,
 * so for them the app sees the stack's value, not the one from the .env: env-transform reports each
 * (it does not override the stack, whose `environment:` is deliberate, e.g. FLASK_ENV per profile).
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

type ServiceDoc = { environment?: Record<string, unknown> | string[] | null; env_file?: unknown };
type ComposeDoc = { services?: Record<string, ServiceDoc | null> } | null;

/** Each compose file under `composeDir` that exists and parses, with its name. */
async function composeDocs(composeDir: string, files: readonly string[]): Promise<Array<{ file: string; doc: ComposeDoc }>> {
  const out: Array<{ file: string; doc: ComposeDoc }> = [];
  for (const file of files) {
    const text = await readFile(join(composeDir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try { out.push({ file, doc: parse(text, { merge: true }) as ComposeDoc }); } catch { /* compose itself will say what is wrong */ }
  }
  return out;
}

/** The `env_file:` entries of `services` (as written), with the file that sets them. */
export async function envFilesOf(composeDir: string, files: readonly string[], services: readonly string[]): Promise<Array<{ service: string; file: string; envFiles: string[] }>> {
  const out: Array<{ service: string; file: string; envFiles: string[] }> = [];
  for (const { file, doc } of await composeDocs(composeDir, files)) {
    for (const service of services) {
      const value = doc?.services?.[service]?.env_file;
      if (value === undefined || value === null) continue;
      const list = (Array.isArray(value) ? value : [value]).map((v) => (typeof v === 'object' && v !== null && 'path' in v ? String((v as { path: unknown }).path) : String(v)));
      out.push({ service, file, envFiles: list });
    }
  }
  return out;
}

/** The services of the compose files that load an env file (`env_file:`), in file order. */
export async function envFileServices(composeDir: string, files: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const { doc } of await composeDocs(composeDir, files)) {
    for (const [name, service] of Object.entries(doc?.services ?? {})) if (service?.env_file !== undefined) out.add(name);
  }
  return [...out];
}

function environmentKeys(env: ServiceDoc['environment']): string[] {
  if (Array.isArray(env)) return env.map((e) => String(e).split('=')[0] ?? '').filter(Boolean);
  return env && typeof env === 'object' ? Object.keys(env) : [];
}

/** The `environment:` keys of `services` in each compose file under `composeDir`. */
export async function shadowedKeys(composeDir: string, files: readonly string[], services: readonly string[]): Promise<ShadowedKey[]> {
  const out: ShadowedKey[] = [];
  for (const { file, doc } of await composeDocs(composeDir, files)) {
    for (const service of services) for (const key of environmentKeys(doc?.services?.[service]?.environment)) out.push({ key, service, file });
  }
  return out;
}
