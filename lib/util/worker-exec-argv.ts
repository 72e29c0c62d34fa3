/**
 * The node options for a worker thread (`new Worker(…, { execArgv })`). By default a worker inherits
 * the parent's, but a worker of a `node --input-type=module -e …` parent then gets `--input-type`
 * without the script and refuses to start ("--input-type can only be used with string input via
 * --eval, --print, or STDIN"). Undefined (inherit, Node's default) unless the parent ran an inline
 * script; then the parent's options less the script's, and less the per-process V8 limits a worker
 * must not be given explicitly (its own limits are `resourceLimits`).
 */
const INLINE = /^(-e|--eval|-p|--print|--input-type)(=|$)/;
const PER_PROCESS = /^--(max-old-space-size|max-semi-space-size|max-young-generation-size|stack-size|title)(=|$)/;

export function workerExecArgv(): string[] | undefined {
  const a = process.execArgv;
  if (!a.some((x) => INLINE.test(x))) return undefined;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (INLINE.test(x) || PER_PROCESS.test(x)) {
      if (!x.includes('=')) i++; // its value is the next argument
      continue;
    }
    out.push(x);
  }
  return out;
}
