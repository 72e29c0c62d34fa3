/**
 * The target's manifest, hashed where the data lives: a bind mount is walked and hashed on the host; a
 * volume is streamed out of a helper container as a name-sorted tar (the same tree order as the
 * manifest) and hashed as it passes, so nothing is unpacked and memory stays flat.
 */
import type { StoreTarget } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { HELPER_MOUNT, openHelper, type HelperSpec } from './helper.ts';
import type { ManifestEntry } from './manifest.ts';
import { readTar } from './tar.ts';
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

/** Stream the target's manifest in tree order, with sha256 per regular file. */
export async function* targetManifest(t: TargetSpec, signal?: AbortSignal): AsyncGenerator<ManifestEntry> {
  if (t.kind === 'bind') { yield* walkTree(t.root, emptyScanReport(), { hash: true, ...(signal ? { signal } : {}) }); return; }
  const h = openHelper({
    h: t.helper, readOnly: true, what: 'stream the volume out for verification',
    cmd: ['tar', '-c', '--format=posix', '--sort=name', '--numeric-owner', '-C', HELPER_MOUNT, '.'],
    ...(signal ? { signal } : {}),
  });
  let complete = false;
  try {
    yield* readTar(h.stdout);
    complete = true;
  } finally {
    // Stopped early (an error, or the consumer returned): the helper goes too.
    if (!complete) { h.kill(); await h.finished().catch(() => undefined); }
  }
  await h.finished();
}
