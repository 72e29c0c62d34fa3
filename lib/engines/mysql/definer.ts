/**
 * DEFINER clauses of views, triggers, routines and events: rewritten to a configured account (the
 * default, since the source's app account rarely exists in the container) or stripped (the object is
 * then owned by whoever creates it). Every change is returned so the report can list it.
 */
export type DefinerPolicy = { readonly mode: 'rewrite'; readonly account: string } | { readonly mode: 'strip' };

export interface DefinerRewrite {
  /** "trigger vedfolnir.trg_posts_count" */
  readonly object: string;
  readonly from: string;
  /** The new account, or null when stripped. */
  readonly to: string | null;
}

// DEFINER=`u`@`h`, DEFINER='u'@'h', DEFINER=u@h, DEFINER=CURRENT_USER[()] — MySQL and MariaDB spellings.
const DEFINER = /\bDEFINER\s*=\s*((?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[\w$.-]+)\s*@\s*(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[\w$.%:-]+)|CURRENT_USER(?:\s*\(\s*\))?)\s*/i;

/** Apply `policy` to the first DEFINER clause of `ddl` (the object's own; bodies are left alone). */
export function applyDefiner(ddl: string, object: string, policy: DefinerPolicy): { ddl: string; rewrite?: DefinerRewrite } {
  const m = DEFINER.exec(ddl);
  if (!m) return { ddl };
  // Only a clause in the statement head (before the body) is the object's definer.
  const head = ddl.slice(0, m.index);
  if (!/^\s*CREATE\b[\s\w=]*$/i.test(head)) return { ddl };
  const from = m[1]!.replace(/\s+/g, '');
  const to = policy.mode === 'rewrite' ? policy.account : null;
  if (to !== null && normalizeAccount(from) === normalizeAccount(to)) return { ddl };
  const replaced = ddl.slice(0, m.index) + (to === null ? '' : `DEFINER=${to} `) + ddl.slice(m.index + m[0].length);
  return { ddl: replaced, rewrite: { object, from, to } };
}

/** `'u'@'h'`, `` `u`@`h` `` and `u@h` compare equal. */
export function normalizeAccount(a: string): string {
  return a.replace(/[`'"]/g, '').toLowerCase();
}

/** Remove the DEFINER clause (for comparing object bodies modulo the rewrite). */
export function withoutDefiner(ddl: string): string {
  return applyDefiner(ddl, '', { mode: 'strip' }).ddl;
}
