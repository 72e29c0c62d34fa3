/**
 * The benches' peers, installed when missing like the test bed installs its tools: Debian packages
 * through apt-get as root (apt's output goes to stderr only on failure: stdout carries the --json
 * measurements). Not root: the exact command to run, named.
 */
import { execa } from 'execa';

export interface Peer { readonly commands: readonly string[]; readonly pkg: string }

const has = (cmd: string) => execa('sh', ['-c', `command -v ${cmd}`], { reject: false }).then((r) => r.exitCode === 0);

/** Install the packages of `peers` whose commands are missing, and say so on stderr. */
export async function ensurePeers(peers: readonly Peer[], bypass = 'pass --tools ferry'): Promise<void> {
  const missing: string[] = [];
  for (const p of peers) {
    if (!(await Promise.all(p.commands.map(has))).every(Boolean) && !missing.includes(p.pkg)) missing.push(p.pkg);
  }
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new Error(`bench peers missing: run \`apt-get install -y ${missing.join(' ')}\` as root (or ${bypass})`);
  console.error(`bench: installing the missing peers with apt-get: ${missing.join(', ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execa('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, all: true, reject: false });
  let r = await install();
  if (r.exitCode !== 0) {
    await execa('apt-get', ['update'], { env, all: true, reject: false });
    r = await install();
  }
  if (r.exitCode !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed (exit ${r.exitCode}): ${String(r.all).split('\n').slice(-10).join('\n')}`);
  console.error(`bench: installed ${missing.join(', ')}`);
}
