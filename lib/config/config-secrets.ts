/** The secret values a config carries (URL passwords of sources and targets), to register with the run's Redactor up front. */
import type { Config } from './schema.ts';

export function configSecrets(config: Pick<Config, 'source'> & { readonly stores?: Config['stores'] }): string[] {
  const out: string[] = [];
  const urls = [config.source.mysql?.url, config.source.redis?.url, ...(config.stores ?? []).flatMap((s) => [s.source, s.target.url])];
  for (const raw of urls) {
    if (!raw) continue;
    try {
      const u = new URL(raw);
      if (u.password) out.push(u.password, decodeURIComponent(u.password));
    } catch { /* a path (files store) or an unparsable URL: its password, if any, is masked by URL redaction */ }
  }
  return out;
}
