import { describe, expect, it } from 'vitest';
import { comparePaths, decodePath, encodePath, isJunkName, nfcOf, showPath } from '../../../../lib/engines/files/paths.ts';
import { linkEscapes } from '../../../../lib/engines/files/walk.ts';
import { entryToLine, lineToEntry, type ManifestEntry } from '../../../../lib/engines/files/manifest.ts';

const b = (s: string) => Buffer.from(s);

describe('comparePaths: the tree order (depth-first, names in byte order)', () => {
  it('puts a directory\'s children before its next sibling', () => {
    const paths = ['a.b', 'a/x', 'a', 'a/x/y', 'b', 'a-c', 'A'];
    expect(paths.map(b).sort(comparePaths).map(String)).toEqual(['A', 'a', 'a/x', 'a/x/y', 'a-c', 'a.b', 'b']);
  });
  it('orders raw bytes, not characters', () => {
    expect(comparePaths(Buffer.from([0x61, 0xff]), Buffer.from([0x61, 0x7a]))).toBeGreaterThan(0);
    expect(comparePaths(b('x'), b('x'))).toBe(0);
  });
});

describe('paths in the manifest', () => {
  it('keeps a name that is not UTF-8 byte for byte (base64)', () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x6a, 0x70, 0x67]); // "café.jpg" in Latin-1
    const enc = encodePath(latin1);
    expect(enc).toHaveProperty('p64');
    expect(decodePath(enc).equals(latin1)).toBe(true);
    expect(showPath(latin1)).toBe('caf\\xe9.jpg');
  });
  it('keeps an NFD name as NFD (a string, exact round trip)', () => {
    const nfd = b('cafe\u0301.jpg');
    expect(encodePath(nfd)).toEqual({ p: 'cafe\u0301.jpg' });
    expect(nfcOf(nfd)?.toString()).toBe('caf\u00e9.jpg');
    expect(nfcOf(b('plain.jpg'))).toBeUndefined();
  });
  it('round-trips every field of an entry through one NDJSON line', () => {
    const e: ManifestEntry = { path: Buffer.from([0x64, 0xff]), type: 'symlink', size: 0, mode: 0o777, mtimeMs: 1700000000123, uid: 10001, gid: 10001, link: Buffer.from([0x2e, 0x2e, 0xfe]), targetPath: b('d'), ino: 42 };
    const back = lineToEntry(entryToLine(e));
    expect(back.path.equals(e.path)).toBe(true);
    expect(back.link!.equals(e.link!)).toBe(true);
    expect(back).toMatchObject({ type: 'symlink', mode: 0o777, mtimeMs: 1700000000123, uid: 10001, gid: 10001, ino: 42 });
    expect(back.targetPath!.toString()).toBe('d');
  });
});

describe('what is not data', () => {
  it.each([['.DS_Store', true], ['._photo.jpg', true], ['._', false], ['.hidden', false], ['photo.jpg', false]])('%s → %s', (name, junk) => {
    expect(isJunkName(b(name))).toBe(junk);
  });
});

describe('linkEscapes: links are never followed out of the tree', () => {
  it.each([
    ['images/latest.jpg', '2021/a.jpg', undefined],
    ['images/latest.jpg', '../exports/x.bin', undefined],
    ['images/latest.jpg', '../../etc/passwd', 'the link leads out of the tree'],
    ['top', '..', 'the link leads out of the tree'],
    ['images/abs', '/etc/passwd', 'an absolute link leads out of the tree (and breaks inside the container)'],
  ])('%s → %s', (path, target, why) => {
    expect(linkEscapes(b(path), b(target))).toBe(why);
  });
});
