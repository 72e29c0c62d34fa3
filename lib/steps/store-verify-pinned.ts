/**
 * `verify-pinned:<store>`: verify a following store while the app still runs on the host. The engine
 * pins a consistent point on the source for a moment, lets the follower stop exactly there, compares both
 * at that point and lets it continue (MySQL, PostgreSQL, Redis; files compare with the bulk copy). An engine
 * without a pinned verify, or a pin given up (E_PIN_GIVEN_UP: the source's tables stayed busy, the follower
 * over its budget; writers resumed, nothing lost), is skipped with the reason: its catch-up ends with its
 * bounded final check, and the verify playbook compares everything after cutover.
 * Read-only on the data: `run` is the proof, and fails naming the first difference.
 */
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, describeTarget, engineParams, storeStepId, type StoreStepParams } from './store-params.ts';
import { storeFollowStep } from './store-follow.ts';

const PIN_HOW: Readonly<Record<string, string>> = { mysql: 'a global read lock', postgres: 'its tables locked IN EXCLUSIVE MODE', redis: 'CLIENT PAUSE WRITE' };

// Every engine that follows has one (MySQL, PostgreSQL, Redis, files): this is for an engine added without it.
const noPin = (kind: string) => `the ${kind} engine has no pinned verify: the catch-up's final check covers it inside the freeze, and \`ferry verify\` compares everything after the cutover`;

export function storeVerifyPinnedStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeVerifyPinnedStep.id(id),
    title: `Verify ${b.store.engine} store ${id} at a pinned point while it follows`,
    async plan(p) {
      const bound = bindingOf(p, id);
      if (!bound.engine?.verifyPinned) return { reads: [], changes: [], details: noPin(bound.store.engine), pending: false };
      return { reads: [describeSource(p, bound), describeTarget(bound)], changes: [], details: PIN_HOW[bound.store.engine] ? `the source is pinned for milliseconds (${PIN_HOW[bound.store.engine]}); the follower holds at the pin while both are compared` : 'the target is compared while the app keeps running on the host' };
    },
    async run(p: StoreStepParams) {
      const e = bindingOf(p, id).engine;
      if (!e?.verifyPinned) return { data: { store: id, skipped: noPin(b.store.engine) } };
      let r;
      try {
        r = await e.verifyPinned(engineParams(p, id));
      } catch (err) {
        // Writers resumed and the follower continues: the store is checked by its catch-up instead, said as such.
        if (!(err instanceof FerryError) || err.code !== 'E_PIN_GIVEN_UP') throw err;
        const why = p.ctx.redactor.redact(err.message);
        p.log.warn(`${id}: ${why} (${err.hint ?? ''})`);
        return { data: { store: id, engine: b.store.engine, skipped: why, givenUp: true } };
      }
      const findings = r.entries.flatMap((x) => x.findings ?? []).map((f) => p.ctx.redactor.redact(f));
      if (!r.ok) {
        throw new FerryError('E_VERIFY_FAILED', `store ${id}: the follower differs from the source at the pinned point: ${findings[0] ?? 'no finding given'}`, {
          hint: `undo the follow (\`ferry rollback\`, or --restart-from ${storeFollowStep.id(id)} after clearing the target) and import again`,
          detail: findings.join('\n'),
        });
      }
      return { data: { store: id, engine: b.store.engine, ok: true, pinned: true, entries: r.entries, seconds: r.seconds } };
    },
  });
}
storeVerifyPinnedStep.id = (storeId: string) => storeStepId('verify-pinned', storeId);
