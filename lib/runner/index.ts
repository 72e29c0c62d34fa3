/** The runner: sequence a playbook's steps with a journal, a lock and undo on failure. */
export type { Playbook, StepPhase, StepStatus, StepResult, RunResult, RunEvent, RunOptions, FerryErrorJson } from './types.ts';
export { runPlaybook } from './run-playbook.ts';
