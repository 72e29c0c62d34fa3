/** The report as Markdown, for the operator (the JSON twin is for tools). */
import type { FerryReport } from './types.ts';

const sec = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
const cell = (v: unknown) => (v === undefined ? '—' : String(v).replace(/\|/g, '\\|'));
const mark = (ok: boolean) => (ok ? '✓' : '✗');

export function renderMarkdown(r: FerryReport): string {
  const out: string[] = [
    `# ferry ${r.playbook} report — ${r.ok ? 'verified' : 'NOT verified'}`, '',
    `- project: \`${r.project}\` (mode ${r.mode})`, `- generated: ${r.generatedAt}`, `- total step time: ${sec(r.totalMs)}`,
  ];
  if (r.downtimeMs !== undefined) out.push(`- downtime (${r.downtimeKind}): ${sec(r.downtimeMs)}`);
  if (r.downtimeParts?.length) out.push(`  - parts: ${r.downtimeParts.map((x) => `${x.part} ${sec(x.ms)}`).join(', ')}`);
  if (r.predictedVsMeasured) {
    const v = r.predictedVsMeasured;
    out.push(`- predicted ${sec(v.predictedMs)} vs measured ${sec(v.measuredMs)} (ratio ${v.ratio.toFixed(2)}; ${r.prediction?.calibratedBy ?? 'defaults'})`);
    out.push(`  - by part (predicted/measured): ${v.parts.map((x) => `${x.part} ${sec(x.predictedMs)}/${sec(x.measuredMs)}`).join(', ')}`);
  } else if (r.prediction) {
    out.push(`- predicted downtime of migrate: ${sec(r.prediction.ms)} (${r.calibration ? 'calibrated by this rehearsal' : r.prediction.calibratedBy})`);
    out.push(`  - parts: ${r.prediction.parts.map((x) => `${x.part} ${sec(x.ms)}`).join(', ')}`);
  }
  if (r.cutover?.length) {
    out.push('', '## Cutover', '', '| store | how | why | to follow |', '|---|---|---|---|');
    for (const c of r.cutover) out.push(`| ${cell(c.store)} | ${cell(c.how)} | ${cell(c.why)} | ${cell(c.how === 'follow' ? '' : c.enable)} |`);
  }
  if (r.preflight) {
    out.push('', '## Preflight', '', `${r.preflight.blockers} blocker(s), ${r.preflight.rewrites} rewrite(s), ${r.preflight.warnings} warning(s)`, '');
    for (const l of r.preflight.lines) out.push(`- ${l}`);
  }
  if (r.mysql) {
    out.push('', `## MySQL ${mark(r.mysql.ok)}`, '', '| table | source rows | target rows | source checksum | target checksum | ok |', '|---|---:|---:|---|---|---|');
    for (const t of r.mysql.tables) out.push(`| ${cell(t.table)} | ${cell(t.sourceRows)} | ${cell(t.targetRows)} | ${cell(t.sourceChecksum)} | ${cell(t.targetChecksum)} | ${mark(t.ok)} |`);
    for (const f of r.mysql.findings) out.push(`- ${f}`);
  }
  if (r.redis) {
    out.push('', `## Redis ${mark(r.redis.ok)}`, '', '| db | source keys | target keys | by type | expired during the window |', '|---:|---:|---:|---|---:|');
    for (const d of r.redis.databases) {
      const types = Object.entries(d.types).map(([k, n]) => `${k} ${n}`).join(', ');
      out.push(`| ${d.db} | ${cell(d.sourceKeys)} | ${cell(d.targetKeys)} | ${cell(types)} | ${cell(d.expiredDuringWindow)} |`);
    }
    if (r.redis.appChecks.length) {
      out.push('', '| sessions and jobs | source | target | differing |', '|---|---:|---:|---:|');
      for (const a of r.redis.appChecks) out.push(`| ${a.category} | ${a.source} | ${a.target} | ${a.differing} |`);
    }
    out.push('', `TTL drift tolerated: ${r.redis.ttlToleranceMs} ms`);
    for (const f of r.redis.findings) out.push(`- ${f}`);
  }
  if (r.stores?.length) {
    out.push('', '## Stores', '', '| store | engine | verified | how |', '|---|---|---|---|');
    const how = { full: 'compared in full', pinned: 'compared at a pinned point while following', 'caught up': 'caught up with the frozen source (not a data comparison: run `verify`)' } as const;
    for (const st of r.stores) out.push(`| ${cell(st.id)} | ${cell(st.engine)} | ${mark(st.ok)} | ${how[st.how ?? 'full']} |`);
    // The MySQL and Redis sections above already detail the preset's two stores.
    for (const st of r.stores.filter((x) => x.id !== r.mysql?.store && x.id !== r.redis?.store)) {
      out.push('', `### ${st.id} (${st.engine}) ${mark(st.ok)}`, '', '| subject | ok | counts |', '|---|---|---|');
      for (const e of st.entries) out.push(`| ${cell(e.subject)} | ${mark(e.ok)} | ${cell(Object.entries(e.counts ?? {}).map(([k, n]) => `${k} ${n}`).join(', '))} |`);
      for (const f of st.findings) out.push(`- ${f}`);
    }
  }
  out.push('', '## Timings', '', '| step | status | duration |', '|---|---|---:|');
  for (const t of r.timings) out.push(`| ${t.step} | ${t.status} | ${sec(t.durationMs)} |`);
  return out.join('\n') + '\n';
}
