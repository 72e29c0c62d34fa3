/**
 * Node's compile cache (V8 code and the stripped TypeScript) for the playbooks' own start: a playbook
 * starts in ~0.25 CPU-s instead of ~0.65 once warm, which counts when `verify` or `rollback` runs in an
 * incident. It must be on before ferry's modules are parsed, and ES modules are all parsed before any of
 * them runs, so each playbook imports this first and everything else with `await import()`. Kept per
 * user (`$XDG_CACHE_HOME` or `~/.cache`, then `ferry/node-compile-cache`), not in the shared temp dir;
 * NODE_COMPILE_CACHE, when set, is Node's own and wins; NODE_DISABLE_COMPILE_CACHE=1 turns it off. A cache
 * that cannot be written is skipped: the playbook only starts slower.
 */
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

if (!process.env.NODE_COMPILE_CACHE && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  try {
    module.enableCompileCache?.(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ferry', 'node-compile-cache'));
  } catch { /* no cache: a slower start, nothing else */ }
}
