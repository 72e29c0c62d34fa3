import { describe, expect, it } from 'vitest';
import { composeServiceUser, composeVolumeName, numericOwner } from '../../../../lib/engines/files/compose-target.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';

// `compose config` output as docker-compose 1.29 prints it (v2 adds `name:` to every volume).
const yaml = `services:
  api:
    image: veogen-api:latest
    user: app
    volumes:
    - uploads:/data/uploads:rw
  worker:
    image: veogen-api:latest
    user: '1000:1000'
  web:
    image: nginx:1.27-alpine
    user: 1000
  plain:
    image: redis:7-alpine
volumes:
  uploads: {}
  outputs:
    name: veogen-outputs
  shared:
    external: true
  legacy:
    external:
      name: old-legacy
`;
const view = { project: 'veogen', yaml };

describe('composeVolumeName: a store\'s target.volume as the compose file names it', () => {
  it('is the project\'s volume (<project>_<name>), or its name:, or an external volume\'s own name', () => {
    expect(composeVolumeName(view, 'uploads')).toBe('veogen_uploads');
    expect(composeVolumeName(view, 'outputs')).toBe('veogen-outputs');
    expect(composeVolumeName(view, 'shared')).toBe('shared');
    expect(composeVolumeName(view, 'legacy')).toBe('old-legacy');
  });
  it('keeps a name the compose file does not declare (already the Docker volume\'s full name)', () => {
    expect(composeVolumeName(view, 'veogen_uploads')).toBe('veogen_uploads');
  });
});

describe('composeServiceUser: the user the app runs as', () => {
  it('reads user: (a name, numbers, a lone uid) and the image, or nothing when the service sets no user', () => {
    expect(composeServiceUser(view, 'api')).toEqual({ user: 'app', image: 'veogen-api:latest' });
    expect(composeServiceUser(view, 'worker')).toEqual({ user: '1000:1000', image: 'veogen-api:latest' });
    expect(composeServiceUser(view, 'web')).toEqual({ user: '1000', image: 'nginx:1.27-alpine' });
    expect(composeServiceUser(view, 'plain')).toEqual({ image: 'redis:7-alpine' });
  });
  it('names the project and the service it cannot find', () => {
    const err = (() => { try { composeServiceUser(view, 'nope'); } catch (e) { return e; } })();
    expect(isFerryError(err) && err.code).toBe('E_FILES_TARGET');
    expect((err as Error).message).toBe('compose project veogen has no service nope');
  });
  it('takes uid:gid in numbers as they are; a name or a lone uid needs the image', () => {
    expect(numericOwner('1000:1000')).toEqual({ uid: 1000, gid: 1000 });
    expect(numericOwner('1000')).toBeUndefined();
    expect(numericOwner('app')).toBeUndefined();
    expect(numericOwner('app:1000')).toBeUndefined();
  });
});
