/** Peak memory of a benchmarked child: its RSS summed with its descendants', sampled from /proc. */
import type { ResultPromise } from 'execa';
import { readFile } from 'node:fs/promises';

/** Peak summed RSS (MB) of a child and its descendants, sampled from /proc every 100 ms until it exits. */
export async function sampleRss(child: ResultPromise): Promise<number> {
  let peak = 0;
  let running = true;
  child.finally(() => { running = false; }).catch(() => undefined);
  while (running && child.pid) {
    peak = Math.max(peak, await treeRssKb(child.pid));
    await new Promise((r) => setTimeout(r, 100));
  }
  return peak / 1024;
}

async function treeRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
  let sum = rss;
  for (const k of kids) sum += await treeRssKb(k);
  return sum;
}
