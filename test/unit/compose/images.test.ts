import { describe, expect, it } from 'vitest';
import { parseServiceImages } from '../../../lib/compose/images.ts';

describe('parseServiceImages', () => {
  it('reads each service\'s image from compose config output, ignoring nested keys and other sections', () => {
    const yaml = [
      'networks:', '  default:', '    image: not-a-service', 'services:',
      '  mysql:', '    environment:', '      image: nested-not-mine', '    image: ferry-testbed/mysql:784d5263e12c', '    ports:', '    - 127.0.0.1:3306:3306/tcp',
      '  "redis-exporter":', '    image: "oliver006/redis_exporter:v1.62.0"',
      '  worker:', '    build: .',
      'volumes:', '  data: {}',
    ].join('\n');
    expect(parseServiceImages(yaml)).toEqual({ mysql: 'ferry-testbed/mysql:784d5263e12c', 'redis-exporter': 'oliver006/redis_exporter:v1.62.0' });
  });
});
