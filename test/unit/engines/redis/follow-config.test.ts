/** Redis follow configuration: when the target can follow (RDB versions), the ACL user's rules, the override, hints. */
import { describe, expect, it } from 'vitest';
import { composeFollowOverride, decideFollow, probeAnswered, probeArgs, reachabilityHint, replicaAclArgs, replicaUserName, sourceFromTarget, supportsAcl } from '../../../../lib/engines/redis/follow-config.ts';
import { rdbVersionFor } from '../../../../lib/engines/redis/info.ts';

const server = (version: string) => ({ version, rdbVersion: rdbVersionFor(version) });

describe('decideFollow', () => {
  it('follows when the target reads the source\'s RDB version (same or newer Redis)', () => {
    expect(decideFollow(server('7.0.15'), server('7.0.15')).follow).toBe(true);
    expect(decideFollow(server('6.2.14'), server('7.2.4')).follow).toBe(true);
  });
  it('falls back to the copy inside the freeze when the target is older, and says which image would follow', () => {
    const d = decideFollow(server('7.4.1'), server('7.0.15'));
    expect(d).toEqual({
      follow: false,
      reason: 'the stack\'s Redis 7.0.15 reads RDB up to v10, the source (Redis 7.4.1) writes v12: the copy runs inside the freeze',
      hint: 'use a Redis image at least as new as the source (7.4.1) for the stack to follow it',
    });
  });
});

describe('the replication ACL user', () => {
  it('may only authenticate, PING, REPLCONF and PSYNC; reset first so a re-run converges', () => {
    expect(replicaAclArgs('ferry-repl-0a1b2c3d', 'pw')).toEqual(['SETUSER', 'ferry-repl-0a1b2c3d', 'reset', 'on', '>pw', '-@all', '+psync', '+replconf', '+ping']);
    expect(replicaUserName('0a1b2c3d')).toBe('ferry-repl-0a1b2c3d');
    expect(() => replicaUserName('zz')).toThrow(TypeError);
  });
  it('exists from Redis 6.0', () => {
    expect(supportsAcl('5.0.14')).toBe(false);
    expect(supportsAcl('6.0.0')).toBe(true);
    expect(supportsAcl('7.2.4')).toBe(true);
  });
});

describe('reaching the source from the stack', () => {
  it('a loopback source is host.docker.internal through host-gateway; an override wins', () => {
    expect(sourceFromTarget({ host: '127.0.0.1', port: 6379 })).toEqual({ host: 'host.docker.internal', port: 6379 });
    expect(sourceFromTarget({ host: '127.0.0.1', port: 50001 }, { host: 'ferry-src-redis', port: 6379 })).toEqual({ host: 'ferry-src-redis', port: 6379 });
    expect(composeFollowOverride('redis', { host: 'host.docker.internal', port: 6379 })).toContain('extra_hosts: ["host.docker.internal:host-gateway"]');
    expect(reachabilityHint({ host: 'host.docker.internal', port: 6379 })).toMatch(/bind 0\.0\.0\.0.*protected-mode/);
  });
});

describe('the reachability probe from the stack\'s side', () => {
  it('runs redis-cli PING in a throwaway container, host-gateway mapped for host.docker.internal', () => {
    expect(probeArgs({ image: 'redis:7-alpine', from: { host: 'host.docker.internal', port: 6379 } })).toEqual([
      'run', '--rm', '--pull', 'never', '--add-host', 'host.docker.internal:host-gateway', '--entrypoint', 'redis-cli', 'redis:7-alpine', '-h', 'host.docker.internal', '-p', '6379', 'PING',
    ]);
    expect(probeAnswered('PONG')).toBe(true);
    expect(probeAnswered('NOAUTH Authentication required.')).toBe(true);
    expect(probeAnswered('Could not connect to Redis at host.docker.internal:6379: Connection refused')).toBe(false);
  });
});
