/**
 * The chunked exports' manifest files (lib/engines/manifest-files.ts), as MySQL and PostgreSQL use them:
 * SHA256SUMS then manifest.json, read back refusing a missing or other-format manifest with the engine's
 * error naming the file, and identifiers percent-encoded into chunk file names.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_FILE, readManifestFile, safeName, writeManifestFiles } from '../../../lib/engines/manifest-files.ts';
import { chunkFile as mysqlChunk, readManifest as readMysql, MANIFEST_FORMAT as MYSQL_FORMAT } from '../../../lib/engines/mysql/manifest.ts';
import { chunkFile as pgChunk, readManifest as readPg } from '../../../lib/engines/postgres/manifest.ts';

describe('manifest files of the chunked exports', () => {
  it('writes SHA256SUMS (sha256sum -c form) and the manifest, and reads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-manifest-'));
    await writeManifestFiles(dir, [['ab'.repeat(32), 'data/a/t.00000.tsv'], ['cd'.repeat(32), 'roles.json']], { format: MYSQL_FORMAT, createdAt: 't' });
    expect(readFileSync(join(dir, 'SHA256SUMS'), 'utf8')).toBe(`${'ab'.repeat(32)}  data/a/t.00000.tsv\n${'cd'.repeat(32)}  roles.json\n`);
    expect(await readMysql(dir)).toEqual({ format: MYSQL_FORMAT, createdAt: 't' });
  });

  it('refuses a missing manifest and another format with the engine\'s code, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-manifest-'));
    const path = join(dir, MANIFEST_FILE);
    await expect(readMysql(dir)).rejects.toMatchObject({ code: 'E_MYSQL_ARTIFACT', message: `No MySQL export at ${path}`, hint: expect.stringContaining('export:<store>') });
    await expect(readPg(dir)).rejects.toMatchObject({ code: 'E_PG_ARTIFACT', message: `No PostgreSQL export at ${path}` });
    writeFileSync(path, JSON.stringify({ format: 'ferry-mysql/1' }));
    await expect(readMysql(dir)).rejects.toMatchObject({ code: 'E_MYSQL_ARTIFACT', message: `${path} has format ferry-mysql/1, expected ${MYSQL_FORMAT}`, hint: 'export again with this version of ferry' });
    await expect(readManifestFile(dir, { format: 'x/1', code: 'E_PG_ARTIFACT', what: 'PostgreSQL' })).rejects.toMatchObject({ code: 'E_PG_ARTIFACT' });
  });

  it('percent-encodes identifiers into safe, unique chunk names', () => {
    expect(safeName('a b/é-_9')).toBe('a%20b%2f%c3a9-_9'); // one % per character: UTF-8 is prefix-free, so names stay unique
    expect(mysqlChunk('shop', 'order items', 3)).toBe('data/shop/order%20items.00003.tsv');
    expect(mysqlChunk('shop', 't', 1, 2)).toBe('data/shop/t.s02.00001.tsv');
    expect(pgChunk('public', 'Orders.v2', 0)).toBe('data/public/Orders%2ev2.00000.copy');
  });
});
