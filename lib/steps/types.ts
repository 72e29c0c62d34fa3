/** The step type of every ferry playbook: hooks get the frozen Config and the run's FerryContext. */
import type { Step } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';

export type FerryStep = Step<Config, FerryContext>;
