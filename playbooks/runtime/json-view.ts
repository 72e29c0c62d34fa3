/** `--json`: one JSON object per line on stdout for every RunEvent, redacted, and nothing else. */
import type { Redactor, RunEvent, RunResult } from '../../lib/index.ts';
import type { View } from './listr-view.ts';

export function createJsonView(write: (line: string) => void, redactor: Redactor): View {
  return {
    onEvent(e) { write(`${JSON.stringify(redactor.redactValue(e))}\n`); },
    async finish(_result: RunResult) {},
  };
}

/** A JSON line for something that is not a RunEvent (a failure before the run started). */
export function jsonLine(value: { type: string } & Record<string, unknown>, redactor: Redactor): string {
  return `${JSON.stringify(redactor.redactValue(value))}\n`;
}

export type { RunEvent };
