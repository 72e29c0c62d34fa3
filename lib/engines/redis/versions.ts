/** Version parsing (semver-ish, for assess) and the RDB format each Redis release writes. */

export interface Semver { readonly major: number; readonly minor: number; readonly patch: number }

export function parseVersion(text: string): Semver | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) } : undefined;
}

export function compareVersions(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** RDB format version written by a Redis release (DUMP payloads carry it too). */
export function rdbVersionOf(v: Semver): number {
  const n = v.major * 100 + v.minor;
  if (n >= 704) return 12;
  if (n >= 702) return 11;
  if (n >= 700) return 10;
  if (n >= 500) return 9;
  if (n >= 400) return 8;
  return 7;
}
