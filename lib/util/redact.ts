/**
 * Redaction: every string that leaves ferry (logs, errors, reports, journal) goes through a Redactor
 * that knows the secret values of this run and masks URL passwords it has never seen.
 */
export const MASK = '•••';

export class Redactor {
  readonly #secrets = new Set<string>();

  /** Register secret values; short values (< 4 chars) are too common to mask safely and are still masked in URLs. */
  add(...values: Array<string | undefined | null>): this {
    for (const v of values) {
      if (typeof v !== 'string' || v.length === 0) continue;
      this.#secrets.add(v);
      try {
        const enc = encodeURIComponent(v);
        if (enc !== v) this.#secrets.add(enc);
      } catch { /* lone surrogate: the raw form is enough */ }
    }
    return this;
  }

  /** Mask every known secret and any `user:password@` in URLs. */
  redact(text: string): string {
    let out = redactUrlPasswords(text);
    const sorted = [...this.#secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
    for (const s of sorted) out = out.split(s).join(MASK);
    return out;
  }

  /** Deep-redact a JSON-like value (strings masked, keys that look secret masked whole). */
  redactValue<T>(value: T): T {
    return redactDeep(value, this) as T;
  }
}

const SECRET_KEY = /(pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential|auth)/i;

function redactDeep(value: unknown, r: Redactor): unknown {
  if (typeof value === 'string') return r.redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, r));
  if (value && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = typeof v === 'string' && SECRET_KEY.test(k) && v.length > 0 && !/_FILE$/i.test(k) ? MASK : redactDeep(v, r);
    }
    return out;
  }
  return value;
}

/** `scheme://user:secret@host` → `scheme://user:•••@host`, for any scheme. */
export function redactUrlPasswords(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]+)@/gi, (_m, head: string) => `${head}:${MASK}@`);
}
