/** A store's small JSON marker (sidecar, import record), or undefined when it is not there (or not JSON). */
import { readFile } from 'node:fs/promises';

export const readJson = <T>(path: string): Promise<T | undefined> => readFile(path, 'utf8').then((t) => JSON.parse(t) as T, () => undefined);
