/**
 * The target's manifest, hashed where the data lives: a bind mount is walked and hashed on the host; a
 * volume is listed and hashed inside a helper container (`find -printf`, `sha256sum`), only names and
 * hashes come out (a docker attach stream carries ~35 MB/s here: far slower than hashing in place).
 * The volume's listing is held in memory to be sorted into tree order (≈ 300 B per entry).
 */
import type { StoreTarget } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { HELPER_MOUNT, runHelper, type HelperSpec } from './helper.ts';
import type { ManifestEntry } from './manifest.ts';
import { FIND_SCRIPT, parseFind, type VolumeStat } from './copy-volume.ts';
import { comparePaths } from './paths.ts';
import { emptyScanReport, walkTree } from './walk.ts';

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

// The listing, a separator record, then `sha256sum` of every regular file (one process: its output is
// never interleaved), all computed inside the helper: only names and hashes leave the volume.
const MANIFEST_SCRIPT = `${FIND_SCRIPT}; printf 'X\\0'; cd ${HELPER_MOUNT} && find . -type f -print0 | xargs -0 -r sha256sum -z --`;

/** The volume's manifest, hashed inside the helper, sorted into tree order. */
export async function volumeManifest(helper: HelperSpec, signal?: AbortSignal, hash = true): Promise<ManifestEntry[]> {
  const out = await runHelper({ h: helper, cmd: ['sh', '-c', hash ? MANIFEST_SCRIPT : FIND_SCRIPT], readOnly: true, what: 'hash the volume', ...(signal ? { signal } : {}) });
  const byPath = new Map<string, { path: Buffer; s: VolumeStat; sha256?: string }>();
  let i = parseFind(out, 0, (path, s) => byPath.set(path.toString('latin1'), { path, s }));
  while (i < out.length) {
    const j = out.indexOf(0, i);
    const rec = out.subarray(i, j < 0 ? out.length : j);
    i = j < 0 ? out.length : j + 1;
    // `<64 hex>  ./<path>`
    const path = rec.subarray(66 + 2);
    const e = byPath.get(path.toString('latin1'));
    if (e) e.sha256 = rec.toString('latin1', 0, 64);
  }
  const sorted = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  byPath.clear();
  const firstName = new Map<number, Buffer>();
  return sorted.map(({ path, s, sha256 }): ManifestEntry => {
    const base = { path, size: 0, mode: s.mode, mtimeMs: s.mtimeMs, uid: s.uid, gid: s.gid };
    if (s.type === 'd') return { ...base, type: 'dir' };
    if (s.type === 'l') return { ...base, type: 'symlink', link: s.link };
    if (s.type === 'f' && s.nlink > 1) {
      const first = firstName.get(s.ino);
      if (first) return { ...base, type: 'hardlink', size: s.size, link: first };
      firstName.set(s.ino, path);
    }
    if (s.type === 'f') return { ...base, type: 'file', size: s.size, sparse: s.sparse, ...(sha256 ? { sha256 } : {}) };
    return { ...base, type: 'file', size: -1, sha256: `not a regular file (find type ${s.type})` };
  });
}

/** Stream the target's manifest in tree order, with sha256 per regular file. */
export async function* targetManifest(t: TargetSpec, signal?: AbortSignal): AsyncGenerator<ManifestEntry> {
  if (t.kind === 'bind') { yield* walkTree(t.root, emptyScanReport(), { hash: true, ...(signal ? { signal } : {}) }); return; }
  yield* await volumeManifest(t.helper, signal);
}
