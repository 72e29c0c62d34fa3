/**
 * What the compose file says about a files store's target: the real name of a named volume (the
 * compose file's `uploads` is the Docker volume `<project>_uploads`, or its `name:`; an external one
 * keeps its name) and the user the service runs as (`user:`, else the image's own `USER`), resolved to
 * numbers through the image's /etc/passwd by a short-lived helper container (`id -u`, `id -g`).
 * Reads `compose config` output (canonical YAML, compose v1 and v2 alike).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { FerryError, excerpt } from '../../core/errors.ts';

export interface ComposeView {
  /** The compose project's name (volumes are `<project>_<name>` unless named). */
  readonly project: string;
  /** `compose config` output. */
  readonly yaml: string;
}

interface ComposeDoc {
  services?: Record<string, { user?: string | number; image?: string } | null>;
  volumes?: Record<string, { name?: string; external?: boolean | { name?: string } } | null>;
}

// The YAML parser is loaded only when a compose view is read (not on every engine start: the delta pass counts its start).
let parseYaml: ((s: string) => unknown) | undefined;
const docOf = (v: ComposeView): ComposeDoc => {
  parseYaml ??= (createRequire(import.meta.url)('yaml') as { parse: (s: string) => unknown }).parse;
  return (parseYaml(v.yaml) ?? {}) as ComposeDoc;
};

/** The Docker volume a store's `target.volume` names: a compose-file volume resolved, anything else as given. */
export function composeVolumeName(v: ComposeView, volume: string): string {
  const vols = docOf(v).volumes ?? {};
  if (!Object.hasOwn(vols, volume)) return volume;
  const d = vols[volume] ?? {};
  if (d.name) return d.name;
  if (d.external) return typeof d.external === 'object' && d.external.name ? d.external.name : volume;
  return `${v.project}_${volume}`;
}

/** The service's `user:` and image as the compose file gives them. */
export function composeServiceUser(v: ComposeView, service: string): { user?: string; image?: string } {
  const s = docOf(v).services?.[service];
  if (s === undefined) {
    throw new FerryError('E_FILES_TARGET', `compose project ${v.project} has no service ${service}`, { hint: 'fix the store\'s target.service: the compose service that mounts the files' });
  }
  return { ...(s?.user !== undefined ? { user: String(s.user) } : {}), ...(s?.image ? { image: s.image } : {}) };
}

/** `uid:gid` in numbers when the user says both; undefined when a name (or a lone uid) must be resolved in the image. */
export function numericOwner(user: string): { uid: number; gid: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(user);
  return m ? { uid: Number(m[1]), gid: Number(m[2]) } : undefined;
}

const run = promisify(execFile);

/**
 * The uid and gid `user` (`1000`, `app`, `app:staff`; empty: the image's USER) has in `image`, as Docker
 * resolves it through the image's /etc/passwd and /etc/group: `id` in a helper container with no network.
 */
export async function resolveImageUser(image: string, user: string | undefined, labels: Readonly<Record<string, string>> = {}): Promise<{ uid: number; gid: number }> {
  const known = user ? numericOwner(user) : undefined;
  if (known) return known;
  const labelArgs = Object.entries({ 'ferry.helper': 'files', ...labels }).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const argv = ['run', '--rm', '--network', 'none', ...labelArgs, ...(user ? ['--user', user] : []), '--entrypoint', 'sh', image, '-c', 'id -u && id -g'];
  const r = await run('docker', argv).catch((e: { stderr?: string; message: string }) => ({ stdout: '', stderr: e.stderr ?? e.message }));
  const [uid, gid] = r.stdout.trim().split('\n').map(Number);
  if (r.stdout && Number.isInteger(uid) && Number.isInteger(gid)) return { uid: uid!, gid: gid! };
  throw new FerryError('E_FILES_TARGET', `cannot resolve user ${user ? `"${user}"` : '(the image\'s USER)'} in image ${image}`, {
    hint: 'set the files store\'s options.owner to "uid:gid" (the numbers the app runs as in its container), or give the service a user: that exists in its image',
    detail: excerpt(r.stderr),
  });
}
