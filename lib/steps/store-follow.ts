/**
 * `follow:<store>`: the target starts following the live source from the export's coordinates (the
 * source is not frozen; the app keeps writing on the host). Returns when the link is up. `check` asks the
 * engine whether the target already follows (a killed run resumes by running follow again, which each
 * engine makes safe). `undo` — a failed or rolled-back follow phase — stops replication and removes
 * everything follow created on the source (`abortFollow`).
 */
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, describeTarget, engineOf, engineParams, storeStepId, type StoreStepParams } from './store-params.ts';

export function storeFollowStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeFollowStep.id(id),
    title: `Make service ${b.store.target.service} follow the live ${b.store.engine} store ${id}`,
    async plan(p) {
      const bound = bindingOf(p, id);
      if (b.store.engine === 'files') return { reads: [describeSource(p, bound)], changes: [], details: 'the bulk copy is the base: the final pass inside the freeze copies only what changed since; nothing is created on the source' };
      return {
        reads: [describeSource(p, bound)],
        changes: [
          `${describeSource(p, bound)}: a replication account / user with a generated password (removed at promote or abort)`,
          `${describeTarget(bound)}: follows the source from the export's position`,
        ],
      };
    },
    async check(p) {
      const e = bindingOf(p, id).engine;
      if (!e?.followStatus || !bindingOf(p, id).targetUrl()) return { done: false, reason: 'no follow status to read' };
      const s = await e.followStatus(engineParams(p, id)).catch(() => undefined);
      return s?.following ? { done: true, reason: `already following (${s.detail})`, outputs: { data: { store: id, ...s } } } : { done: false, reason: s?.detail ?? 'not following' };
    },
    async run(p) {
      const s = await engineOf(p, id, 'follow').follow!(engineParams(p, id));
      if (!s.following) {
        throw new FerryError('E_FOLLOW_REFUSED', `store ${id}: the target cannot follow the source: ${s.detail}`, {
          hint: `set cutover.mode to freeze-copy (or drop options.followFrom from store ${id}) to copy it inside the freeze, then run migrate again`,
        });
      }
      return { data: { store: id, ...s } };
    },
    async undo(p: StoreStepParams) {
      const e = bindingOf(p, id).engine;
      if (!e?.abortFollow) throw new FerryError('E_ENGINE_UNAVAILABLE', `store ${id}: the ${b.store.engine} engine cannot abort a follow`, { hint: 'stop the replication by hand and remove the ferry_repl account/user from the source' });
      p.log.warn(`undo ${storeFollowStep.id(id)}: stopping replication and removing what follow created on the source`);
      await e.abortFollow(engineParams(p, id));
    },
  });
}
storeFollowStep.id = (storeId: string) => storeStepId('follow', storeId);
