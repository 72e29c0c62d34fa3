import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layerGraph, renderGraph } from '../../../scripts/layers.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'ferry-layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('scripts/layers.ts', () => {
  it('counts imports by folder and names every import that points up, type-only and multi-line ones included', () => {
    const root = tree({
      'lib/core/step.ts': `import { redact } from '../util/redact.ts';\n`,
      'lib/util/redact.ts': `export const redact = 1;\n`,
      'lib/engines/redis/index.ts': `import type {\n  FerryContext,\n} from '../../steps/context.ts';\nimport { redact } from '../../util/redact.ts';\n`,
      'lib/steps/context.ts': `// import x from '../runner/index.ts' is a comment\nexport type FerryContext = {};\n`,
      'lib/steps/index.ts': `export * from './context.ts';\nexport { redact } from '../util/redact.ts';\nconst m = await import('../engines/redis/index.ts');\n`,
    });
    const g = layerGraph(root);
    expect(g.upward.map((u) => `${u.file} → ${u.target}`)).toEqual([
      'lib/core/step.ts → lib/util/redact.ts',
      'lib/engines/redis/index.ts → lib/steps/context.ts',
    ]);
    expect(Object.fromEntries(g.edges.get('steps') ?? [])).toEqual({ util: 1, engines: 1 });
    const text = renderGraph(g);
    expect(text).toContain('engines    [5] → util 1, steps 1');
    expect(text).toContain('2 upward import(s):');
    expect(() => execFileSync(process.execPath, [join(repo, 'scripts', 'layers.ts'), root], { stdio: 'pipe' })).toThrow();
  });

  it('names a lib/ folder that is on no layer', () => {
    const g = layerGraph(tree({ 'lib/extras/x.ts': `import '../core/y.ts';\n`, 'lib/core/y.ts': '' }));
    expect(g.unplaced).toEqual(['extras']);
    expect(renderGraph(g)).toContain('folder lib/extras is on no layer');
  });

  it('finds no import pointing up the layers of lib/ (prints the graph; exit 0)', () => {
    const out = execFileSync(process.execPath, [join(repo, 'scripts', 'layers.ts')], { encoding: 'utf8' });
    expect(out).toContain('steps      [8] →');
    expect(out).toContain('no import points up the layers');
  });
});
