/**
 * Relative paths as raw bytes. Names are kept byte for byte (an APFS NFD name stays NFD), so a path is a
 * Buffer; the manifest stores it as a UTF-8 string when that round-trips exactly, else base64.
 */

/** The tree's order: depth-first, each directory's names in byte order (`a` < `a/x` < `a.b`). */
export function comparePaths(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!, y = b[i]!;
    if (x === y) continue;
    // '/' sorts below every byte a name can hold, so a directory's children come before its next sibling.
    return (x === 0x2f ? -1 : x) - (y === 0x2f ? -1 : y);
  }
  return a.length - b.length;
}

/** `a/b` from a parent path and one name (the root's children have an empty parent). */
export function joinRel(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? name : Buffer.concat([parent, SLASH, name]);
}
const SLASH = Buffer.from('/');

/** A path for JSON: `{ p }` when the bytes are valid UTF-8 (exact round trip), else `{ p64 }`. */
export function encodePath(path: Buffer): { p: string } | { p64: string } {
  const s = path.toString('utf8');
  return Buffer.from(s, 'utf8').equals(path) ? { p: s } : { p64: path.toString('base64') };
}

export function decodePath(e: { p?: string; p64?: string }): Buffer {
  return e.p64 !== undefined ? Buffer.from(e.p64, 'base64') : Buffer.from(e.p ?? '', 'utf8');
}

/** A path for messages: UTF-8 when valid, with invalid bytes shown as \xNN. */
export function showPath(path: Uint8Array): string {
  const b = Buffer.from(path);
  const s = b.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(b)) return s;
  return [...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
}

/** The first component (`images` of `images/a/b.jpg`), the unit of the per-directory report. */
export function topLevel(path: Uint8Array): string {
  const b = Buffer.from(path);
  const i = b.indexOf(0x2f);
  return i < 0 ? '.' : `${showPath(b.subarray(0, i))}/`;
}

/** Not data: Finder's `.DS_Store` and AppleDouble `._*` companions (resource forks, xattrs). */
export function isJunkName(name: Uint8Array): boolean {
  if (name[0] !== 0x2e) return false; // both start with '.': most names are decided by their first byte
  return (name.length > 2 && name[1] === 0x5f) || Buffer.compare(name, DS_STORE) === 0;
}
const DS_STORE = Buffer.from('.DS_Store');

/** The NFC form of a name when it differs from the bytes (an NFD name from a Mac), else undefined. */
export function nfcOf(name: Buffer): Buffer | undefined {
  const s = name.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(name)) return undefined;
  const n = Buffer.from(s.normalize('NFC'), 'utf8');
  return n.equals(name) ? undefined : n;
}

/** A source path as it is named on the target: each component in NFC when names are normalised. */
export function targetOfPath(path: Buffer, normalize: 'none' | 'nfc'): Buffer {
  if (normalize === 'none') return path;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) { const c = path.subarray(start, i); parts.push(nfcOf(Buffer.from(c)) ?? Buffer.from(c)); start = i + 1; }
  }
  return Buffer.concat(parts.flatMap((c, i) => (i ? [SLASH, c] : [c])));
}

/** The parent directory of a relative path, latin1 ('' = the root). */
export function parentKey(path: Buffer): string {
  const i = path.lastIndexOf(0x2f);
  return i < 0 ? '' : path.subarray(0, i).toString('latin1');
}
