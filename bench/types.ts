/** One benchmark measurement: printed as one JSON line with --json. */
export interface Measurement {
  readonly engine: string;
  readonly tool: string;
  readonly phase: string;
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly verified: boolean;
  readonly [k: string]: unknown;
}

export interface BenchOptions {
  /** Size knob of the deterministic data (engine-specific meaning, documented in each bench file). */
  readonly scale: number;
  /** How many repetitions per tool; the table reports medians. */
  readonly repeat: number;
  /** Restrict to these tools (default: all of the engine's). */
  readonly tools: readonly string[] | undefined;
  readonly json: boolean;
}

/** An engine's benchmark: runs every tool on the same data and servers, emitting measurements. */
export type EngineBench = (opts: BenchOptions, emit: (m: Measurement) => void) => Promise<void>;
