/**
 * A preflight finding: what will break (`blocker`, refused before a byte moves), what ferry will
 * rewrite on the way (`rewrite`), what the operator should know (`warning`, `info`).
 */
export type FindingSeverity = 'blocker' | 'warning' | 'rewrite' | 'info';

export interface Finding {
  readonly severity: FindingSeverity;
  /** Stable id of the check (`mysql-lower-case-table-names`); MIGRATION.md has a section per id. */
  readonly check: string;
  /** The thing concerned ("mysql 127.0.0.1:3306", "table vedfolnir.users", "redis db 3 key x"). */
  readonly subject: string;
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

export function finding(severity: FindingSeverity, check: string, subject: string, message: string, hint: string): Finding {
  return Object.freeze({ severity, check, subject, message, hint });
}

const ORDER: Record<FindingSeverity, number> = { blocker: 0, rewrite: 1, warning: 2, info: 3 };

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || a.check.localeCompare(b.check));
}

/** One line per finding, blockers first: `BLOCKER mysql-x (subject): message → hint`. */
export function formatFindings(findings: readonly Finding[]): string {
  return sortFindings(findings)
    .map((f) => `${f.severity.toUpperCase()} ${f.check} (${f.subject}): ${f.message} → ${f.hint}`)
    .join('\n');
}

export function blockers(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'blocker');
}
