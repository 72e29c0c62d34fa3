/**
 * DEFINER clauses of views, triggers, routines and events. By default they are kept: the accounts they
 * name are carried to the target (accounts.ts), so an object with SQL SECURITY DEFINER runs as the same
 * account it ran as on the source, never as root. Rewriting to another account is an explicit choice that
 * names it; stripping makes the importing account the definer and sets SQL SECURITY INVOKER on views
 * (in their DDL) and routines (`ALTER … SQL SECURITY INVOKER` after creating them, objects.ts), so no object
 * gains the importer's privileges. Every change is returned so the report can list it.
 */
export type DefinerPolicy =
  | { readonly mode: 'keep' }
  | { readonly mode: 'rewrite'; readonly account: string }
  | { readonly mode: 'strip' };

export const DEFAULT_DEFINER_POLICY: DefinerPolicy = { mode: 'keep' };

export interface DefinerRewrite {
  /** "trigger vedfolnir.trg_posts_count" */
  readonly object: string;
  readonly from: string;
  /** The new account, or null when stripped. */
  readonly to: string | null;
  /** Stripped from a view or routine: it now runs with SQL SECURITY INVOKER. */
  readonly invoker?: boolean;
}

// DEFINER=`u`@`h`, DEFINER='u'@'h', DEFINER=u@h, DEFINER=CURRENT_USER[()] — MySQL and MariaDB spellings.
const DEFINER = /\bDEFINER\s*=\s*((?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[\w$.-]+)\s*@\s*(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[\w$.%:-]+)|CURRENT_USER(?:\s*\(\s*\))?)\s*/i;

const VIEW_HEAD = /^((?:SQL\s+SECURITY\s+)(?:DEFINER|INVOKER)\s+)?VIEW\b/i;
const ROUTINE_HEAD = /^(?:AGGREGATE\s+)?(?:FUNCTION|PROCEDURE)\b/i;

/** The object's own DEFINER clause (`user@host`, quotes kept), or null. */
export function definerOf(ddl: string): string | null {
  const m = DEFINER.exec(ddl);
  return m && /^\s*CREATE\b[\s\w=]*$/i.test(ddl.slice(0, m.index)) ? m[1]!.replace(/\s+/g, '') : null;
}

/** Apply `policy` to the first DEFINER clause of `ddl` (the object's own; bodies are left alone). */
export function applyDefiner(ddl: string, object: string, policy: DefinerPolicy): { ddl: string; rewrite?: DefinerRewrite } {
  if (policy.mode === 'keep') return { ddl };
  const m = DEFINER.exec(ddl);
  if (!m) return { ddl };
  // Only a clause in the statement head (before the body) is the object's definer.
  const head = ddl.slice(0, m.index);
  if (!/^\s*CREATE\b[\s\w=]*$/i.test(head)) return { ddl };
  const from = m[1]!.replace(/\s+/g, '');
  const to = policy.mode === 'rewrite' ? policy.account : null;
  if (to !== null && normalizeAccount(from) === normalizeAccount(to)) return { ddl };
  let rest = ddl.slice(m.index + m[0].length);
  let invoker = false;
  if (to === null) {
    const view = VIEW_HEAD.exec(rest);
    if (view) { rest = `SQL SECURITY INVOKER VIEW${rest.slice(view[0].length)}`; invoker = true; }
    if (ROUTINE_HEAD.test(rest)) invoker = true;
  }
  const replaced = head + (to === null ? '' : `DEFINER=${to} `) + rest;
  return { ddl: replaced, rewrite: { object, from, to, ...(invoker ? { invoker } : {}) } };
}

/** `'u'@'h'`, `` `u`@`h` `` and `u@h` compare equal. */
export function normalizeAccount(a: string): string {
  return a.replace(/[`'"]/g, '').toLowerCase();
}

/** Remove the DEFINER clause (for comparing object bodies modulo the rewrite). */
export function withoutDefiner(ddl: string): string {
  return applyDefiner(ddl, '', { mode: 'strip' }).ddl;
}
