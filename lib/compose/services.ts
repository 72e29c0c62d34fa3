/** The services a compose project defines, as `compose config` prints them (canonical YAML, v1 and v2 alike). */
import type { ComposeClient } from './client.ts';

export function parseServiceNames(yaml: string): string[] {
  const out: string[] = [];
  let inServices = false;
  for (const line of yaml.split('\n')) {
    if (/^\S/.test(line)) { inServices = /^services:\s*$/.test(line); continue; }
    const s = inServices ? /^ {2}([^\s#][^:]*):\s*$/.exec(line) : null;
    if (s) out.push(s[1]!.replace(/^(['"])(.*)\1$/, '$2'));
  }
  return out;
}

export async function composeServiceNames(client: Pick<ComposeClient, 'config'>): Promise<string[]> {
  return parseServiceNames(await client.config());
}
