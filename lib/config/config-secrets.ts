/** The secret values a config carries (URL passwords), to register with the run's Redactor up front. */
import type { Config } from './schema.ts';

export function configSecrets(config: Pick<Config, 'source'>): string[] {
  const out: string[] = [];
  for (const raw of [config.source.mysql?.url, config.source.redis?.url]) {
    if (!raw) continue;
    try {
      const u = new URL(raw);
      if (u.password) out.push(u.password, decodeURIComponent(u.password));
    } catch { /* an unparsable URL is reported by whoever connects; its password is masked by URL redaction */ }
  }
  return out;
}
