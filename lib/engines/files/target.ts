/**
 * The target's manifest, hashed where the data lives: a bind mount is walked and hashed on the host; a
 * volume is listed and hashed inside a helper container (`find -printf`, `sha256sum`), only names and
 * hashes come out (a docker attach stream carries ~35 MB/s here: far slower than hashing in place).
 * The volume's listing is sorted into tree order externally (bounded runs spilled to disk).
 */
import type { StoreTarget } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import type { HelperSpec } from './helper.ts';
import type { ManifestEntry } from './manifest.ts';
// The helper, the volume's listing and the walk load with the first manifest asked for: every pass needs targetSpec, a pass that copies nothing needs no more.

export type TargetSpec = { readonly kind: 'bind'; readonly root: string } | { readonly kind: 'volume'; readonly helper: HelperSpec };

export function targetSpec(storeId: string, t: StoreTarget, helperImage: string, labels?: Readonly<Record<string, string>>): TargetSpec {
  if (t.hostPath && t.volume) {
    throw new FerryError('E_FILES_TARGET', `store ${storeId}: target names both hostPath ${t.hostPath} and volume ${t.volume}`, { hint: 'keep one: hostPath for a bind mount, volume for a named volume' });
  }
  if (t.hostPath) {
    if (!t.hostPath.startsWith('/')) throw new FerryError('E_FILES_TARGET', `store ${storeId}: target hostPath ${t.hostPath} is not absolute`, { hint: 'give the bind mount\'s host directory as an absolute path' });
    return { kind: 'bind', root: t.hostPath };
  }
  if (t.volume) return { kind: 'volume', helper: { image: helperImage, volume: t.volume, ...(labels ? { labels } : {}) } };
  throw new FerryError('E_FILES_TARGET', `store ${storeId}: target names neither hostPath nor volume`, { hint: 'set target.hostPath (bind mount) or target.volume (named volume)' });
}

// The listing, a separator record, then `sha256sum` of every regular file, all computed inside the
// helper: only names and hashes leave the volume. One hashing process per core (a single one ran at
// 0.75x the host's sha256sum over the tree), each batch into its own file in the helper's /tmp (their
// outputs never interleave in the pipe), sent once all are done (the listing is sorted after anyway).
const HASH_ALL = `d=$(mktemp -d) && find . -type f -print0 | xargs -0 -r -n 500 -P "$(nproc 2>/dev/null || echo 2)" sh -c 'exec sha256sum -z -- "$@" > "$(mktemp -p "$0")"' "$d" && find "$d" -type f -exec cat {} +`;

/** The volume's manifest in tree order, hashed inside the helper (sorted externally: memory stays flat). */
export async function* volumeManifest(helper: HelperSpec, signal?: AbortSignal, hash = true): AsyncGenerator<ManifestEntry> {
  const [{ FIND_SCRIPT, HELPER_MOUNT, runHelper }, { VolumeListing }] = await Promise.all([import('./helper.ts'), import('./volume-list.ts')]);
  const listing = new VolumeListing();
  await runHelper({ h: helper, cmd: ['sh', '-c', hash ? `${FIND_SCRIPT}; printf 'X\\0'; cd ${HELPER_MOUNT} && ${HASH_ALL}` : FIND_SCRIPT], readOnly: true, what: 'hash the volume', output: (s) => listing.consume(s), ...(signal ? { signal } : {}) });
  yield* listing.entries();
}

/** Stream the target's manifest in tree order, with sha256 per regular file. */
export async function* targetManifest(t: TargetSpec, signal?: AbortSignal): AsyncGenerator<ManifestEntry> {
  if (t.kind === 'bind') { const { emptyScanReport, walkTree } = await import('./walk.ts'); yield* walkTree(t.root, emptyScanReport(), { hash: true, ...(signal ? { signal } : {}) }); return; }
  yield* volumeManifest(t.helper, signal);
}
