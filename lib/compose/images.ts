/**
 * The images a compose project runs, as compose resolves them (its `.env`, the environment, defaults):
 * the target's images are the compose project's configuration, read from it, never handed over in
 * ferry's own environment.
 */
import type { ComposeClient } from './client.ts';

/** `service → image` from `compose config` output (canonical YAML, two-space indents, v1 and v2 alike). */
export function parseServiceImages(yaml: string): Record<string, string> {
  const images: Record<string, string> = {};
  let inServices = false;
  let service: string | undefined;
  for (const line of yaml.split('\n')) {
    if (/^\S/.test(line)) { inServices = /^services:\s*$/.test(line); service = undefined; continue; }
    if (!inServices) continue;
    const s = /^ {2}([^\s#][^:]*):\s*$/.exec(line);
    if (s) { service = s[1]!.replace(/^(['"])(.*)\1$/, '$2'); continue; }
    const i = /^ {4}image:\s*(.+?)\s*$/.exec(line);
    if (i && service) images[service] = i[1]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return images;
}

/** The image of every service of the client's project, as compose would run it. */
export async function composeServiceImages(client: Pick<ComposeClient, 'config'>): Promise<Record<string, string>> {
  return parseServiceImages(await client.config());
}
