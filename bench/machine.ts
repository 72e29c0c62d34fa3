/**
 * What this machine charges for the work every tool does, measured once per bench run and printed with
 * the figures (tool `machine`), so runs on different days and machines can be read side by side:
 * - `minorFaultUs`: the cost of one page fault on fresh anonymous memory (64 MiB touched a page at a
 *   time). On bare metal it is well under 1 µs; on this test bed's VM it was 13–20 µs. It weighs on
 *   every process that touches memory for the first time: a new PostgreSQL backend maps each page of
 *   shared_buffers on first touch (an index scan cycles through all of them: ~32k faults at the default
 *   128 MB, ~0.5–1.2 CPU-s per backend on this VM; pg_dump's sequential scans read through a 256 KB ring
 *   and touch ~32 buffers), a sort's memory, a Node heap that grows.
 * - `sha256MBps`: single-core sha256 throughput over 64 MiB in memory: the CPU's speed right now (the
 *   same machine has run 2–3× slower from one session to the next).
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import type { Measurement } from './types.ts';

export function machineMeasurement(engine: string): Measurement {
  const size = 64 << 20;
  const page = 4096;
  const t0 = performance.now();
  const fresh = new Uint8Array(new ArrayBuffer(size));
  for (let i = 0; i < size; i += page) fresh[i] = 1;
  const faultS = (performance.now() - t0) / 1000;
  const h0 = performance.now();
  createHash('sha256').update(fresh).digest();
  const hashS = (performance.now() - h0) / 1000;
  return {
    engine, tool: 'machine', phase: 'costs', seconds: Number((faultS + hashS).toFixed(3)), peakRssMb: 0, verified: true,
    minorFaultUs: Number(((faultS * 1e6) / (size / page)).toFixed(2)), sha256MBps: Math.round(size / 1048576 / hashS), loadAvg: Number(loadavg()[0]!.toFixed(2)),
  };
}
