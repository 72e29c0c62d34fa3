/** A step that sees a given config (the rehearsal's paths and ports, or store options parsed by the engines), not the caller's. */
import { defineStep, type StepParams } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from '../steps/context.ts';
import type { FerryStep } from '../steps/types.ts';

export function withConfig(step: FerryStep, config: Config): FerryStep {
  const map = (p: StepParams<Config, FerryContext>) => ({ ...p, config });
  const wrap = <K extends 'plan' | 'run' | 'check' | 'verify' | 'undo' | 'fingerprint' | 'sourceState'>(k: K) =>
    step[k] ? { [k]: (p: StepParams<Config, FerryContext>) => (step[k] as (x: StepParams<Config, FerryContext>) => unknown)(map(p)) } : {};
  return defineStep({ ...step, ...wrap('plan'), ...wrap('run'), ...wrap('check'), ...wrap('verify'), ...wrap('undo'), ...wrap('fingerprint'), ...wrap('sourceState') } as FerryStep);
}

