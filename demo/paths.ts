/** Where the demo finds the repo's compose/ and the macOS .env fixture (read only, never written). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));
export const DEMO_ENV_FIXTURE = join(REPO, 'fixtures', 'env', 'vedfolnir-macos', 'input.env');
export const REPO_COMPOSE_DIR = join(REPO, 'compose');
export const TESTBED_IMAGES = join(REPO, 'testbed', '.images.json');
export const REPO_VEOGEN_DIR = join(REPO, 'compose', 'examples', 'veogen');
export const VEOGEN_ENV_FIXTURE = join(REPO, 'fixtures', 'apps', 'second-app', 'app.env');
