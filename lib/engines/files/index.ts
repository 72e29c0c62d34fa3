/** The files engine and the pieces the bench and tests drive directly. */
export { filesEngine, type FilesFacts } from './engine.ts';
export { parseFilesOptions, type FilesOptions } from './options.ts';
export { exportTree, treeFingerprint, MANIFEST_FILE } from './export.ts';
export { copyToBind, byTargetPath, type CopyResult } from './copy-bind.ts';
export { copyToVolume } from './copy-volume.ts';
export { compareManifests } from './compare.ts';
export { targetManifest, targetSpec, type TargetSpec } from './target.ts';
export { reverseToSource } from './reverse.ts';
export { waitQuiet } from './freeze.ts';
export { readManifest, writeManifest, type ManifestEntry } from './manifest.ts';
export { walkTree, scanTree, emptyScanReport, type ScanReport } from './walk.ts';
