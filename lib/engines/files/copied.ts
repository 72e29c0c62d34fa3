/**
 * The record of a finished copy: which manifest (by file identity) reached which target with which owner.
 * An import asked again for the same manifest, target and owner has nothing to do (the delta pass of an
 * unchanged tree is the export's one walk); a verify that finds the target differing drops the record,
 * so the next import scans the target and repairs it.
 */
import { appendFile, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { readJson } from '../read-json.ts';
import { HASHES_FILE } from './manifest.ts';

const FILE = 'copied.json';

export interface CopiedRecord { readonly manifest: string; readonly target: string; readonly owner: string; readonly entries: number }

/** The manifest's identity: inode, size, mtime of it and of its hash log (an export that rewrote it changes them). */
export async function manifestIdentity(manifest: string, artifactDir: string): Promise<string> {
  const id = async (f: string) => { const s = await lstat(f).catch(() => null); return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-'; };
  return `${await id(manifest)}/${await id(join(artifactDir, HASHES_FILE))}`;
}

export function readCopied(stateDir: string): Promise<CopiedRecord | undefined> {
  return readJson<CopiedRecord>(join(stateDir, FILE));
}

export async function recordCopied(stateDir: string, r: CopiedRecord): Promise<void> {
  await writeFileAtomic(join(stateDir, FILE), JSON.stringify(r) + '\n');
}

export async function forgetCopied(stateDir: string): Promise<void> {
  await rm(join(stateDir, FILE), { force: true });
}

const SCOPE_FILE = 'scope.json';

/**
 * Where the target may differ from the manifest: only among the direct children of `dirs` (relative,
 * latin1), because the copy recorded in `base` (the last complete one, to `target` with `owner`) left it
 * equal to the previous manifest and the narrowed export changed only those directories' entries. Valid
 * for the manifest whose identity it names; a copy or a check may then list only those directories.
 */
export interface ScopeRecord { readonly manifest: string; readonly target: string; readonly owner: string; readonly dirs: readonly string[] }

export function readScope(stateDir: string): Promise<ScopeRecord | undefined> {
  return readJson<ScopeRecord>(join(stateDir, SCOPE_FILE));
}

export async function recordScope(stateDir: string, r: ScopeRecord): Promise<void> {
  await writeFileAtomic(join(stateDir, SCOPE_FILE), JSON.stringify(r) + '\n');
}

/** The target may differ anywhere (a failed verify, a cleared target): the next copy lists all of it. */
export async function forgetScope(stateDir: string): Promise<void> {
  await rm(join(stateDir, SCOPE_FILE), { force: true });
}

/** Neither the finished copy nor its scope holds any more (a failed verify, a cleared target): the next import lists all of the target and repairs it. */
export async function forgetCopyRecords(stateDir: string): Promise<void> {
  await forgetCopied(stateDir);
  await forgetScope(stateDir);
}

const RANGES_DIR = 'ranges';

/**
 * A large file's copy in progress (see copy-ranged.ts): which of its ranges are on the staged partial, each
 * with the crc32 of the source bytes written there (checked against the partial before a resumed run keeps
 * it: a range the page cache lost in a crash is copied again). Valid for the source file as it was (size,
 * mtime, inode) and the range size it was cut with. Kept as `<key>.json` (that identity, renamed into
 * place) and `<key>.done` (a line `index crc32` appended per range: constant work per range however
 * large the file; a torn last line is ignored or fails its check).
 */
export interface RangeRecord {
  /** The target path, base64 (raw bytes). */
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino?: number;
  readonly rangeBytes: number;
  /** Range index → crc32 of its bytes. */
  readonly done: Readonly<Record<string, number>>;
}

const rangeFile = (stateDir: string, key: string, ext: 'json' | 'done') => join(stateDir, RANGES_DIR, `${key}.${ext}`);

export async function readRangeRecord(stateDir: string, key: string): Promise<RangeRecord | undefined> {
  const id = await readJson<Omit<RangeRecord, 'done'>>(rangeFile(stateDir, key, 'json'));
  if (!id) return undefined;
  const done: Record<string, number> = {};
  const log = await readFile(rangeFile(stateDir, key, 'done'), 'latin1').catch(() => '');
  for (const line of log.split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (m) done[m[1]!] = Number(m[2]);
  }
  return { ...id, done };
}

/**
 * Not fsynced: a record lost or older after a crash only costs ranges copied again (a range is kept only
 * when the partial still has its crc32), and an fsync per range stalled the copy behind the kernel's
 * writeback of the partial itself (ext4 orders the journal after the data).
 */
async function renameIn(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Start (or restart) a file's record: its identity and the ranges already verified on the partial. */
export async function startRanges(stateDir: string, key: string, r: RangeRecord): Promise<void> {
  await mkdir(join(stateDir, RANGES_DIR), { recursive: true });
  await rm(rangeFile(stateDir, key, 'json'), { force: true }); // no identity over a log being replaced
  await renameIn(rangeFile(stateDir, key, 'done'), Object.entries(r.done).map(([i, crc]) => `${i} ${crc}\n`).join(''));
  const { done: _done, ...id } = r;
  await renameIn(rangeFile(stateDir, key, 'json'), JSON.stringify(id) + '\n');
}

/** One more range on the partial. */
export async function recordRange(stateDir: string, key: string, index: number, crc: number): Promise<void> {
  await appendFile(rangeFile(stateDir, key, 'done'), `${index} ${crc}\n`);
}

export async function forgetRanges(stateDir: string, key: string): Promise<void> {
  await rm(rangeFile(stateDir, key, 'json'), { force: true });
  await rm(rangeFile(stateDir, key, 'done'), { force: true });
}

/** A finished copy: no large file is in progress (their partials went with the staging directory). */
export async function forgetAllRanges(stateDir: string): Promise<void> {
  await rm(join(stateDir, RANGES_DIR), { recursive: true, force: true });
}
