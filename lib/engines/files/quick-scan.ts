/**
 * A quick "has anything changed?" for the delta pass: GNU find walks the tree in C and prints every
 * entry's type, size, mtime and ctime (nanoseconds), mode, owner, inode, link count, link target and
 * path; ferry hashes the stream without parsing it. Equal to the value recorded by the last export,
 * the tree is unchanged in every way the manifest records (ctime moves with any write, chmod, chown or
 * rename), so the export keeps its manifest without walking in Node. Where there is no GNU find (macOS)
 * or find fails, undefined: the caller walks.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

const FORMAT = '%y\\0%s\\0%T@\\0%C@\\0%m\\0%U\\0%G\\0%i\\0%n\\0%l\\0%P\\0';

export async function quickFingerprint(root: string, signal?: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const h = createHash('sha256');
    const child = spawn('find', [root, '-printf', FORMAT], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' }, ...(signal ? { signal } : {}) });
    child.stdout.on('data', (d: Buffer) => h.update(d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? h.digest('hex') : undefined));
  });
}
