/**
 * The one place image tags are pinned: the test bed (scripts/testbed.sh) writes testbed/.images.json
 * with the official images where they could be pulled, else locally built stand-ins.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TestImages {
  readonly mysql: string;
  readonly redis: string;
  readonly postgres: string;
  /** True when the images are Debian stand-ins (MariaDB 10.11 for MySQL 8, Redis 7.0). */
  readonly standins: boolean;
}

const file = fileURLToPath(new URL('../../testbed/.images.json', import.meta.url));

export function testImages(): TestImages {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file} is missing: run \`npm run testbed\` (or \`npm test\`, which runs it first)`);
  }
  return Object.freeze(JSON.parse(raw) as TestImages);
}
