/**
 * Progress of long work: units done of a total (rows, keys, bytes), with rate and ETA derived from a
 * clock that tests can fake. Reporters are cheap to call per chunk; sinks throttle rendering.
 */
export interface ProgressUpdate {
  /** What is moving: "rows", "keys", "bytes", "chunks"… */
  readonly unit: string;
  readonly done: number;
  readonly total?: number;
  /** Bytes moved so far, when the unit is not bytes. */
  readonly bytes?: number;
  /** What is being worked on ("table users", "db 0"). */
  readonly label?: string;
  /**
   * True on the last update of `label` (that table or db is complete). Plain output prints a line when
   * a label starts and when it ends; labels never marked finished end with their step.
   */
  readonly finished?: boolean;
}

export interface ProgressTick extends ProgressUpdate {
  readonly step: string;
  readonly ratePerSec: number;
  readonly etaSec?: number;
  readonly elapsedSec: number;
}

export interface Progress {
  update(u: ProgressUpdate): void;
}

export type ProgressSink = (tick: ProgressTick) => void;

export const noProgress: Progress = { update() {} };

/** A progress reporter for one step; `now` is injectable for tests. */
export function createProgress(step: string, sink: ProgressSink, now: () => number = () => performance.now()): Progress {
  const start = now();
  return {
    update(u) {
      const elapsedSec = Math.max((now() - start) / 1000, 1e-6);
      const ratePerSec = u.done / elapsedSec;
      const etaSec = u.total !== undefined && ratePerSec > 0 ? Math.max(0, (u.total - u.done) / ratePerSec) : undefined;
      sink({ ...u, step, ratePerSec, elapsedSec, ...(etaSec !== undefined ? { etaSec } : {}) });
    },
  };
}
