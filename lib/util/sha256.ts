/** Checksums of artifacts, streamed so memory stays flat however large the file. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Artifact } from '../core/step.ts';

/** The sha256 (hex) and size of a file. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const consume = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      bytes += chunk.length;
      hash.update(chunk);
    }
  };
  await (signal ? pipeline(createReadStream(path), consume, { signal }) : pipeline(createReadStream(path), consume));
  return { sha256: hash.digest('hex'), bytes };
}

/** An `Artifact` record for a file a step produced. */
export async function artifactOf(path: string, signal?: AbortSignal): Promise<Artifact> {
  return { path, ...(await sha256File(path, signal)) };
}

/**
 * Why a recorded artifact no longer matches (missing, resized, changed), or undefined when it does.
 * The size is checked first so a truncated file is caught without reading it.
 */
export async function artifactMismatch(a: Artifact, signal?: AbortSignal): Promise<string | undefined> {
  const st = await stat(a.path).catch(() => null);
  if (!st) return `artifact ${a.path} is missing`;
  if (st.size !== a.bytes) return `artifact ${a.path} is ${st.size} bytes, recorded ${a.bytes}`;
  const now = await sha256File(a.path, signal);
  return now.sha256 === a.sha256 ? undefined : `artifact ${a.path} changed since it was recorded (sha256 differs)`;
}
