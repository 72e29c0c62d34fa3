/** The flags every playbook takes (node:util parseArgs), its own extra ones, and the --help text. */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { FerryError } from '../../lib/index.ts';

export interface CliOptionDef {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly default?: string | boolean;
  readonly help: string;
}

/** The common flags, with the argument name shown in --help. */
export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c', arg: 'FILE', help: 'ferry.config.ts or .json (default: ./ferry.config.ts, then ./ferry.config.json)' },
  'dry-run': { type: 'boolean', help: 'show the whole plan (every step, what it would read and change) and change nothing; exit 0 nothing to do, 2 changes pending' },
  json: { type: 'boolean', help: 'write one JSON object per line on stdout for every state change and progress tick, and nothing else' },
  demo: { type: 'boolean', help: 'run against throwaway source servers seeded from fixtures (verify and rollback migrate them first, or reuse a demo kept with FERRY_DEMO_KEEP=1); APP: vedfolnir (default) or veogen, as --demo=veogen or --demo veogen' },
  'undo-on-failure': { type: 'boolean', help: 'on failure also undo the completed steps, last first' },
  'break-stale-lock': { type: 'boolean', help: 'take over a run lock held by a live pid or another host (a lock left by a dead run on this host is taken over without it)' },
  'restart-from': { type: 'string', arg: 'STEP', help: 'forget the journal from STEP on, so it and every later step run again' },
  'state-dir': { type: 'string', arg: 'DIR', help: 'journal, artifacts and lock directory (overrides the config\'s stateDir)' },
  'pg-dump': { type: 'string', arg: 'PATH', help: 'the pg_dump postgres stores dump their schema with (major ≥ the source\'s; default: the newest on this host, else a postgres:<major> image\'s)' },
  verbose: { type: 'boolean', short: 'v', help: 'show debug logs' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; short?: string; arg?: string; help: string }>;

export type Flags = Record<string, string | boolean | undefined>;

/** The apps `--demo` takes (`--demo=veogen`, `--demo veogen`); plain `--demo` is the first. */
export const DEMO_APPS = ['vedfolnir', 'veogen'] as const;
export type DemoAppName = (typeof DEMO_APPS)[number];

/** `--demo` with an optional app: parseArgs has no optional values, so the app is taken out first. */
function takeDemoApp(argv: readonly string[]): { argv: string[]; app?: string } {
  const out: string[] = [];
  let app: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--demo=')) { app = a.slice('--demo='.length); out.push('--demo'); continue; }
    if (a === '--demo' && (DEMO_APPS as readonly string[]).includes(argv[i + 1] ?? '')) { app = argv[++i]; out.push('--demo'); continue; }
    out.push(a);
  }
  if (app !== undefined && !(DEMO_APPS as readonly string[]).includes(app)) {
    throw new FerryError('E_USAGE', `--demo=${app}: no such demo app`, { hint: `use --demo (${DEMO_APPS[0]}) or --demo=${DEMO_APPS.join(' / --demo=')}` });
  }
  return { argv: out, ...(app !== undefined ? { app } : {}) };
}

export function parseCliArgs(extra: Readonly<Record<string, CliOptionDef>> | undefined, argv: readonly string[]): Flags {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }> = {};
  const all: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }> = { ...COMMON_OPTIONS, ...extra };
  for (const [name, o] of Object.entries(all)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  const demo = takeDemoApp(argv);
  try {
    const flags = parseArgs({ args: demo.argv, options, strict: true, allowPositionals: false }).values as Flags;
    return demo.app !== undefined ? { ...flags, demo: demo.app } : flags;
  } catch (e) {
    throw new FerryError('E_USAGE', String((e as Error).message).split('\n')[0] ?? 'invalid arguments', { hint: 'see --help for the flags this playbook takes', cause: e });
  }
}

export function helpText(def: { id: string; title: string; description: string; options?: Readonly<Record<string, CliOptionDef>>; demo?: unknown }, script = process.argv[1]): string {
  const rows: [string, string][] = [];
  const all: Record<string, { type: string; short?: string; arg?: string; help: string }> = { ...COMMON_OPTIONS, ...def.options };
  for (const [name, o] of Object.entries(all)) {
    if (name === 'demo' && !def.demo) continue;
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
    rows.push([flag, o.help]);
  }
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    `ferry ${def.id}: ${def.title}`,
    '',
    def.description.trim(),
    '',
    `Usage: node ${script ? basename(script) : `${def.id}.ts`} [options]`,
    '',
    'Options:',
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}${h}`),
    '',
    'Exit codes: 0 done or nothing to do, 2 changes pending (--dry-run), 1 error, 130 cancelled (Ctrl-C).',
    '',
  ].join('\n');
}
