/**
 * The layer graph of lib/: who imports whom, by folder, and every import that points up the layers of
 * STYLE.md (core → util → config → journal → env → engines → compose → freeze/preflight/report → steps →
 * runner → playbooks → index; the demo lives outside lib/). Type-only imports count: a type import up the layers is a dependency too.
 *
 *   node scripts/layers.ts [root]      prints the graph; exits 1 when an import points up
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders of lib/ from the bottom up; folders on one rank may import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ['core'], ['util'], ['config'], ['journal'], ['env'], ['engines'], ['compose'], ['freeze', 'preflight', 'report'],
  ['steps'], ['runner'], ['playbooks'], ['index'],
];

export interface Edge { readonly from: string; readonly to: string; readonly file: string; readonly target: string }
export interface LayerGraph {
  /** folder → folder → number of import statements. */
  readonly edges: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly upward: readonly Edge[];
  /** Folders found under lib/ that no layer names. */
  readonly unplaced: readonly string[];
  /** Folders (and top-level files) lib/ has. */
  readonly present: readonly string[];
}

const rankOf = (folder: string): number => LAYERS.findIndex((l) => l.includes(folder));
const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/** `lib/steps/x.ts` → `steps`; `lib/index.ts` → `index`. */
function folderOf(lib: string, file: string): string {
  const rel = relative(lib, file).split(sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
}

export function layerGraph(root: string): LayerGraph {
  const lib = join(root, 'lib');
  const edges = new Map<string, Map<string, number>>();
  const upward: Edge[] = [];
  const unplaced = new Set<string>();
  const present = new Set<string>();
  for (const file of tsFiles(lib)) {
    const from = folderOf(lib, file);
    present.add(from);
    if (rankOf(from) < 0) unplaced.add(from);
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(lib + sep)) continue; // fixtures/, demo/ … outside lib: not a layer
      const to = folderOf(lib, target);
      if (to === from) continue;
      const row = edges.get(from) ?? new Map<string, number>();
      row.set(to, (row.get(to) ?? 0) + 1);
      edges.set(from, row);
      if (rankOf(to) > rankOf(from) && rankOf(from) >= 0) {
        upward.push({ from, to, file: relative(root, file), target: relative(root, target) });
      }
    }
  }
  return { edges, upward, unplaced: [...unplaced], present: [...present] };
}

export function renderGraph(g: LayerGraph): string {
  const out = ['lib/ layer graph (folder → folders it imports, with the number of import statements); bottom first:'];
  const folders = [...new Set([...LAYERS.flat(), ...g.unplaced])].filter((f) => g.present.includes(f));
  for (const f of folders) {
    const row = g.edges.get(f);
    const deps = row ? [...row].sort(([a], [b]) => rankOf(a) - rankOf(b) || a.localeCompare(b)).map(([t, n]) => `${t} ${n}`).join(', ') : '—';
    out.push(`  ${f.padEnd(10)} [${rankOf(f) < 0 ? '?' : rankOf(f)}] → ${deps}`);
  }
  for (const u of g.unplaced) out.push(`folder lib/${u} is on no layer: add it to LAYERS in scripts/layers.ts`);
  out.push(g.upward.length ? `${g.upward.length} upward import(s):` : 'no import points up the layers');
  for (const u of g.upward) out.push(`  ${u.file} → ${u.target} (${u.from} [${rankOf(u.from)}] imports ${u.to} [${rankOf(u.to)}])`);
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const g = layerGraph(root);
  console.log(renderGraph(g));
  process.exitCode = g.upward.length || g.unplaced.length ? 1 : 0;
}
