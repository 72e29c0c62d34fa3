/** The fixture playbook's context: where its files go, how slowly, and where to fail on purpose. */
export interface FixtureCtx {
  /** Directory the steps write into. */
  readonly outDir: string;
  /** Lines `generate` writes. */
  readonly lines: number;
  /** Pause between chunks, so a run lasts long enough to be interrupted. */
  readonly delayMs: number;
  /** Step id whose `run` throws after doing part of its work. */
  readonly failAt?: string;
  /** A value that changes `transform`'s input fingerprint. */
  readonly salt: string;
}

export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
