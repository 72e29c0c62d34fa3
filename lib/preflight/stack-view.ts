/**
 * The stack as the follow checks see it, from `compose config` (v1 and v2 print the same shape): each
 * service's image and command, and the external networks it joins — those exist before the stack runs, so a probe
 * container can stand on them and see the source as the service will.
 */
import { parse } from 'yaml';
import type { StackView } from './follow-readiness.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseStackView(yaml: string): StackView {
  const doc: unknown = parse(yaml);
  const services = isObj(doc) && isObj(doc.services) ? doc.services : {};
  const nets = isObj(doc) && isObj(doc.networks) ? doc.networks : {};
  const external = new Map<string, string>();
  for (const [key, n] of Object.entries(nets)) {
    if (!isObj(n) || !(n.external === true || isObj(n.external))) continue;
    const legacy = isObj(n.external) && typeof n.external.name === 'string' ? n.external.name : undefined;
    external.set(key, typeof n.name === 'string' ? n.name : legacy ?? key);
  }
  const images: Record<string, string> = {};
  const networks: Record<string, string[]> = {};
  const commands: Record<string, string> = {};
  for (const [name, s] of Object.entries(services)) {
    if (!isObj(s)) continue;
    if (typeof s.image === 'string') images[name] = s.image;
    if (typeof s.command === 'string' || Array.isArray(s.command)) commands[name] = Array.isArray(s.command) ? s.command.map(String).join(' ') : s.command;
    const joined = Array.isArray(s.networks) ? s.networks.map(String) : isObj(s.networks) ? Object.keys(s.networks) : [];
    const ext = joined.map((k) => external.get(k)).filter((x): x is string => x !== undefined);
    if (ext.length) networks[name] = ext;
  }
  return { images, networks, commands };
}
