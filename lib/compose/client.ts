/**
 * A Compose client bound to one project: the project name is always explicit (never derived, never
 * random) and `down` keeps volumes unless asked. Every call returns data or throws a FerryError naming
 * the project and services, with compose's stderr attached.
 */
import type { Readable, Writable } from 'node:stream';
import { FerryError } from '../core/errors.ts';
import type { Redactor } from '../util/redact.ts';
import { composeContainers } from './containers.ts';
import { apiExec } from '../util/docker-api.ts';
import { detectCompose, type ComposeCli } from './detect.ts';
import { exec as runCommand, type ExecResult as CommandResult } from '../util/exec.ts';

export interface ComposeClientOptions {
  /** Directory holding docker-compose.yml; relative paths in the files resolve against it. */
  readonly composeDir: string;
  /** Compose project name (lowercase letters, digits, `_`, `-`). */
  readonly project: string;
  /** Compose files relative to composeDir (or absolute); `docker-compose.yml` is put first when absent. */
  readonly files?: readonly string[];
  /** Variables for interpolation (image names…), added to the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** A specific Compose; detected (v2 preferred) when absent. */
  readonly cli?: ComposeCli;
  /** Masks secrets in error details. */
  readonly redactor?: Redactor;
}

export interface ExecOptions {
  /** Variables for the command; only their names reach argv (`-e NAME`), values travel in env. */
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: string | Readable;
  /** Stream stdout here instead of collecting it. */
  readonly stdout?: Writable;
  readonly user?: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export interface DownOptions {
  /** Remove named and anonymous volumes too. Never the default: a volume holds the data. */
  readonly removeVolumes?: boolean;
}

const PROJECT = /^[a-z0-9][a-z0-9_-]*$/;
/** The stack's base file: every client reads it first, so overrides alone never make a stack. */
export const BASE_FILE = 'docker-compose.yml';

export type ComposeClient = Awaited<ReturnType<typeof createComposeClient>>;

export async function createComposeClient(options: ComposeClientOptions) {
  if (!PROJECT.test(options.project)) {
    throw new TypeError(`Expected the compose \`project\` to match ${PROJECT}, got \`${options.project}\``);
  }
  const cli = options.cli ?? await detectCompose();
  const files = [BASE_FILE, ...(options.files ?? []).filter((f) => f !== BASE_FILE)];
  const base = [...cli.prefix, '-p', options.project, ...files.flatMap((f) => ['-f', f])];
  const redact = (s: string) => options.redactor?.redact(s) ?? s;
  const where = `compose project ${options.project} (${options.composeDir})`;

  const raw = (args: readonly string[], extra: { signal?: AbortSignal; timeoutMs?: number } = {}) =>
    runCommand(cli.file, [...base, ...args], { cwd: options.composeDir, env: options.env, ...extra });

  async function must(what: string, args: readonly string[], hint: string, extra?: { signal?: AbortSignal }): Promise<CommandResult> {
    const r = await raw(args, extra);
    if (r.exitCode !== 0) {
      const lines = r.stderr.trim().split('\n');
      const first = (r.failure ?? lines.find((l) => /error/i.test(l)) ?? lines.at(-1)) || `exit ${r.exitCode}`;
      throw new FerryError('E_COMPOSE', `${what} failed for ${where}: ${redact(first)}`, { hint, detail: redact(r.stderr) });
    }
    return r;
  }

  /** Containers of `service` (stopped ones too), by the labels v1 and v2 both set; cheaper than `compose ps`. */
  const containerIds = (service: string): Promise<string[]> => composeContainers({ project: options.project, service, all: true, noOneOff: true });

  return {
    cli, project: options.project, composeDir: options.composeDir, files,

    /** Validate the merged configuration; returns it as compose prints it (YAML). */
    async config(): Promise<string> {
      return (await must('config', ['config'], 'fix the compose file named in the detail, then re-run')).stdout;
    },

    /** Create/start `services` detached (all when empty); `noStart`: create their containers only (v1 and v2 alike). */
    async up(services: readonly string[], o: { forceRecreate?: boolean; noDeps?: boolean; noStart?: boolean; signal?: AbortSignal } = {}): Promise<void> {
      const flags = [o.noStart ? '--no-start' : '-d', ...(o.forceRecreate ? ['--force-recreate'] : []), ...(o.noDeps ? ['--no-deps'] : [])];
      await must(`up ${services.join(' ')}`, ['up', ...flags, ...services],
        'read the detail; `docker-compose logs <service>` shows why a container did not start', { signal: o.signal });
    },

    async stop(services: readonly string[]): Promise<void> {
      await must(`stop ${services.join(' ')}`, ['stop', ...services], 'is the Docker engine running?');
    },

    /** Start existing (stopped) containers of `services`, keeping their configuration. */
    async start(services: readonly string[]): Promise<void> {
      await must(`start ${services.join(' ')}`, ['start', ...services], 'the containers must exist: bring the services up first');
    },

    /** Stop and remove containers and networks. Volumes stay unless `removeVolumes` is set. */
    async down(o: DownOptions = {}): Promise<void> {
      await must('down', ['down', '--remove-orphans', ...(o.removeVolumes ? ['--volumes'] : [])], 'is the Docker engine running?');
    },

    /** Remove the stopped containers of `services` (after `stop`), keeping volumes. */
    async rm(services: readonly string[]): Promise<void> {
      await must(`rm ${services.join(' ')}`, ['rm', '-f', '-s', ...services], 'is the Docker engine running?');
    },

    containerIds,

    /** The last `tail` log lines of `service`, redacted. */
    async logs(service: string, tail = 20): Promise<string> {
      const r = await raw(['logs', '--no-color', '--tail', String(tail), service]);
      return redact(`${r.stdout}${r.stderr}`.trim());
    },

    /** Run `command` in the service's container (`docker exec -i`), stdin streamed; the exit code is data. */
    async exec(service: string, command: readonly string[], o: ExecOptions = {}): Promise<CommandResult> {
      const [id] = await containerIds(service);
      if (!id) {
        throw new FerryError('E_COMPOSE_NO_CONTAINER', `service ${service} has no container in ${where}`, {
          hint: `bring it up first (\`up ${service}\`)`,
        });
      }
      // Without stdin or a stdout stream, the Engine API where it can be: no CLI process to start (util/docker-api.ts).
      if (o.stdin === undefined && o.stdout === undefined) {
        const r = await apiExec(id, command, { ...(o.env ? { env: o.env } : {}), ...(o.user ? { user: o.user } : {}), ...(o.signal ? { signal: o.signal } : {}), ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) });
        if (r) return r;
      }
      const envNames = Object.keys(o.env ?? {}).flatMap((k) => ['-e', k]);
      const user = o.user ? ['-u', o.user] : [];
      return runCommand('docker', ['exec', ...(o.stdin === undefined ? [] : ['-i']), ...user, ...envNames, id, ...command], {
        env: o.env, stdin: o.stdin, stdout: o.stdout, signal: o.signal, timeoutMs: o.timeoutMs,
      });
    },
  };
}
