/** Words and numbers for humans: progress lines, durations, plans, errors. */
import type { FerryErrorJson, PlanEntry, ProgressTick } from '../../lib/index.ts';

const n = (v: number) => Math.round(v).toLocaleString('en-US');

export function formatBytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return `${i === 0 ? b : b.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** `table users: 12,000/50,000 rows · 3.1 MB · 4,200 rows/s · ETA 9.0s` */
export function formatProgress(t: ProgressTick): string {
  const parts = [`${t.label ? `${t.label}: ` : ''}${n(t.done)}${t.total !== undefined ? `/${n(t.total)}` : ''} ${t.unit}`];
  if (t.bytes !== undefined) parts.push(formatBytes(t.bytes));
  parts.push(t.unit === 'bytes' ? `${formatBytes(t.ratePerSec)}/s` : `${n(t.ratePerSec)} ${t.unit}/s`);
  if (t.etaSec !== undefined) parts.push(`ETA ${formatDuration(t.etaSec * 1000)}`);
  return parts.join(' · ');
}

/** A dry run's entry for one step, indented under its title. */
export function formatPlan(title: string, id: string, plan: PlanEntry, reason: string | undefined): string {
  if (!plan.pending) return `✔ ${title} [${id}]: nothing to do${reason ? ` (${reason})` : ''}`;
  const lines = [`● ${title} [${id}]: would run`];
  for (const r of plan.reads) lines.push(`    reads    ${r}`);
  for (const c of plan.changes) lines.push(`    changes  ${c}`);
  if (plan.details) lines.push(...plan.details.replace(/\s+$/, '').split('\n').map((l) => `    ${l}`));
  return lines.join('\n');
}

/** `✖ <message>\n  hint: <hint>` (+ the detail, indented). The error is already redacted. */
export function formatError(e: FerryErrorJson | { message: string; hint?: unknown; detail?: unknown }): string {
  const lines = [`✖ ${String(e.message)}`];
  if (e.hint) lines.push(`  hint: ${String(e.hint)}`);
  if (typeof e.detail === 'string' && e.detail) lines.push(...e.detail.split('\n').map((l) => `    ${l}`));
  return lines.join('\n');
}
