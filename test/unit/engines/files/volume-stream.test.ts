import { describe, expect, it } from 'vitest';
import { sharesThisKernel, volumeStream } from '../../../../lib/engines/files/fifo.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';

const here = { release: '6.1.0-28-cloud-amd64', hostname: 'builder' };

describe('which path a volume stream takes (fifo.ts)', () => {
  it('a FIFO only for an engine on this kernel and host: not Docker Desktop\'s VM, not a ferry inside a container, not an engine that did not answer', () => {
    expect(sharesThisKernel({ KernelVersion: here.release, Name: 'builder', OperatingSystem: 'Debian GNU/Linux 12 (bookworm)' }, here)).toBe(true);
    // Docker Desktop on Linux: its own VM kernel and name.
    expect(sharesThisKernel({ KernelVersion: '6.10.14-linuxkit', Name: 'docker-desktop', OperatingSystem: 'Docker Desktop' }, here)).toBe(false);
    // Said to be Docker Desktop, whatever else matches.
    expect(sharesThisKernel({ KernelVersion: here.release, Name: 'builder', OperatingSystem: 'Docker Desktop' }, here)).toBe(false);
    // ferry in a container talking to the host's engine: the same kernel, another host name (its paths are not the host's).
    expect(sharesThisKernel({ KernelVersion: here.release, Name: 'ci-host', OperatingSystem: 'Ubuntu 24.04.1 LTS' }, here)).toBe(false);
    // A remote engine on another kernel.
    expect(sharesThisKernel({ KernelVersion: '5.15.0-105-generic', Name: 'builder', OperatingSystem: 'Ubuntu 22.04.4 LTS' }, here)).toBe(false);
    // Unknown: no.
    expect(sharesThisKernel(undefined, here)).toBe(false);
    expect(sharesThisKernel({ OperatingSystem: 'Debian' }, here)).toBe(false);
  });

  it('FERRY_VOLUME_STREAM decides when set; a value it does not know is refused, naming the values it takes', async () => {
    expect(await volumeStream({ FERRY_VOLUME_STREAM: 'stdin' })).toBe('stdin');
    expect(await volumeStream({ FERRY_VOLUME_STREAM: 'fifo' })).toBe('fifo');
    const err = await volumeStream({ FERRY_VOLUME_STREAM: 'pipe' }).then(() => undefined, (e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_FILES_OPTIONS');
    expect(String((err as Error).message)).toContain('"pipe"');
    expect(isFerryError(err) && err.hint).toMatch(/fifo, stdin or auto/);
  });
});
