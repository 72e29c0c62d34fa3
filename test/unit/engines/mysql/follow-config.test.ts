/** Generated configuration for following: the source as the stack sees it (host-gateway), the override, conf.d, hints. */
import { describe, expect, it } from 'vitest';
import { composeFollowOverride, followConf, needsHostGateway, probeAnswered, probeArgs, reachabilityHint, sourceFromTarget, targetServerId } from '../../../../lib/engines/mysql/follow-config.ts';
import { accountFor, generatePassword } from '../../../../lib/engines/mysql/replication-account.ts';

describe('sourceFromTarget', () => {
  it('a source on the host\'s loopback is host.docker.internal from the stack (host-gateway on Linux)', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.1.1']) expect(sourceFromTarget({ host, port: 3306 })).toEqual({ host: 'host.docker.internal', port: 3306 });
    expect(needsHostGateway(sourceFromTarget({ host: '127.0.0.1', port: 3307 }))).toBe(true);
  });
  it('a named host stays itself; an explicit override (a name on a shared network) wins', () => {
    expect(sourceFromTarget({ host: 'db.lan', port: 3306 })).toEqual({ host: 'db.lan', port: 3306 });
    expect(sourceFromTarget({ host: '127.0.0.1', port: 49153 }, { host: 'ferry-src-mysql', port: 3306 })).toEqual({ host: 'ferry-src-mysql', port: 3306 });
  });
});

describe('composeFollowOverride', () => {
  it('maps host.docker.internal to the host gateway for the service', () => {
    expect(composeFollowOverride('mysql', { host: 'host.docker.internal', port: 3306 })).toBe(
      '# written by ferry: the stack follows the host\'s database until the cutover\nservices:\n  mysql:\n    extra_hosts: ["host.docker.internal:host-gateway"]\n');
  });
  it('adds nothing for a source reached by name, and refuses a bad service name', () => {
    expect(composeFollowOverride('db', { host: 'db.lan', port: 3306 })).toMatch(/ {2}db:\n {4}\{\}\n$/);
    expect(() => composeFollowOverride('my sql', { host: 'x', port: 1 })).toThrow(TypeError);
  });
});

describe('followConf and server ids', () => {
  it('keeps a distinct server-id and the database filter across a restart of the target', () => {
    expect(followConf(2, ['vedfolnir', 'shop'])).toBe(
      '# written by ferry: this server follows the host\'s MySQL during the migration\n[mysqld]\nserver-id = 2\nreplicate-wild-do-table = vedfolnir.%\nreplicate-wild-do-table = shop.%\n');
    expect(() => followConf(0, [])).toThrow(/server id in 1..4294967295, got `0`/);
  });
  it('picks an id other than the source\'s', () => {
    expect(targetServerId(1)).toBe(2);
    expect(targetServerId(4294967295)).toBe(2);
  });
  it('gives a second follower (the rehearsal\'s) an id of its own, stable for its name', () => {
    const a = targetServerId(1, 'mysql@vedfolnir-rehearsal-1a2b3c');
    expect(a).toBeGreaterThanOrEqual(1000);
    expect(a).toBeLessThanOrEqual(4294967294);
    expect(a).not.toBe(targetServerId(1));
    expect(targetServerId(1, 'mysql@vedfolnir-rehearsal-1a2b3c')).toBe(a);
    expect(targetServerId(1, 'mysql@vedfolnir-rehearsal-4d5e6f')).not.toBe(a);
  });
});

describe('reachabilityHint', () => {
  it('says what to change on the host for host-gateway, and what to check for a named source', () => {
    expect(reachabilityHint({ host: 'host.docker.internal', port: 3306 }, { host: '127.0.0.1', port: 3306 })).toMatch(/extra_hosts.*host-gateway.*bind-address = 0\.0\.0\.0/);
    expect(reachabilityHint({ host: 'db.lan', port: 3306 }, { host: 'db.lan', port: 3306 })).toMatch(/db\.lan:3306/);
  });
});

describe('the replication account', () => {
  it('is named from the store id, stable and within 32 characters', () => {
    expect(accountFor('mysql')).toEqual(accountFor('mysql'));
    expect(accountFor('mysql').user).toMatch(/^ferry_repl_[0-9a-f]{8}$/);
    expect(accountFor('a').user).not.toBe(accountFor('b').user);
  });
  it('gets a fresh password with every character class and nothing to escape', () => {
    const a = generatePassword(); const b = generatePassword();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_.-]{36}$/);
    expect(a).toMatch(/[A-Z]/); expect(a).toMatch(/[0-9]/); expect(a).toMatch(/[.]/);
  });
});

describe('the reachability probe from the stack\'s side', () => {
  it('runs mysqladmin in a throwaway container with the host-gateway mapping for host.docker.internal', () => {
    expect(probeArgs({ image: 'mysql:8.0', from: { host: 'host.docker.internal', port: 3306 }, network: 'vedfolnir_internal' })).toEqual([
      'run', '--rm', '--pull', 'never', '--add-host', 'host.docker.internal:host-gateway', '--network', 'vedfolnir_internal',
      '--entrypoint', 'mysqladmin', 'mysql:8.0', 'ping', '--protocol=tcp', '-h', 'host.docker.internal', '-P', '3306', '-u', 'ferry-probe', '--connect-timeout=5',
    ]);
    expect(probeArgs({ image: 'mysql:8.0', from: { host: 'db.lan', port: 3307 } })).not.toContain('--add-host');
  });
  it('counts "alive" and an access refusal as an answer, a connect error as none', () => {
    expect(probeAnswered('mysqld is alive')).toBe(true);
    expect(probeAnswered("mysqladmin: connect to server at 'x' failed\nerror: 'Access denied for user 'ferry-probe'@'172.18.0.5' (using password: NO)'")).toBe(true);
    expect(probeAnswered("mysqladmin: connect to server at 'host.docker.internal' failed\nerror: 'Can't connect to MySQL server on 'host.docker.internal' (115)'")).toBe(false);
  });
});
