/**
 * A store's `options` validated by its engine's zod schema, once, at the config boundary. Errors name
 * the field as the operator wrote it (`stores[shop].options.parallelism`), the value (masked when it is
 * a secret) and the expected form.
 */
import type { z } from 'zod';
import { FerryError } from '../core/errors.ts';
import { fieldPath, showValue } from '../config/describe-issue.ts';

export function parseStoreOptions<S extends z.ZodType>(schema: S, raw: unknown, storeId: string, kind: string): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return Object.freeze(parsed.data) as z.output<S>;
  const at = (path: readonly PropertyKey[]) => `stores[${storeId}].options${path.length ? `.${fieldPath(path)}` : ''}`;
  const lines = parsed.error.issues.map((i) => i.code === 'unrecognized_keys'
    ? `${at(i.path)}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}; expected only the ${kind} engine's options (a typo?)`
    : `${at(i.path)}: got ${showValue(raw, i.path)}; ${i.message.replace(/^Invalid input: /, '')}`);
  throw new FerryError('E_CONFIG', `${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more)` : ''}`, {
    hint: `fix the ${kind} store \`${storeId}\`'s options in the config; the ${kind} options are lib/engines/${kind}/options.ts`,
    detail: lines.join('\n'),
  });
}
