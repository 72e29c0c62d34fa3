import { describe, expect, it } from 'vitest';
import { isFerryError } from '../../../lib/core/errors.ts';
import { expandValue, parseEnv, resolveEnv, serializeEnv, transformEnv, validateEnv } from '../../../lib/env/index.ts';

const values = (text: string) => Object.fromEntries(resolveEnv(parseEnv(text)));
const parseError = (text: string, file?: string) => {
  try { parseEnv(text, file ? { file } : {}); } catch (e) { if (isFerryError(e)) return e; throw e; }
  throw new Error('expected a parse error');
};

describe('parseEnv', () => {
  it('reads python-dotenv constructs', () => {
    expect(values([
      'export A=1', "B='x \\'y\\' \\\\ \\n'", 'C="t\\tn\\nq\\"b\\\\x"', 'D=v # c', 'E=v#c', 'F=', ' G = spaced ', "'H'=k",
      'I="multi', 'line"', 'J=${A}-${NOPE:-dflt}-${NOPE}', 'K="${B}"',
    ].join('\n'))).toEqual({
      A: '1', B: "x 'y' \\ \\n", C: 't\tn\nq"b\\x', D: 'v', E: 'v#c', F: '', G: 'spaced', H: 'k', I: 'multi\nline',
      J: "1-dflt-", K: "x 'y' \\ \\n",
    });
  });

  it('reads a key without = as set without a value (it expands to "", not to the default)', () => {
    expect(values('A\nB=${A:-d}\n')).toEqual({ A: undefined, B: '' });
  });

  it('keeps the last of duplicated keys and records every line', () => {
    const doc = parseEnv('A=1\n\n# c\nA=2\n');
    expect(values('A=1\nA=2\n')).toEqual({ A: '2' });
    expect(doc.bindings.filter((b) => b.key === 'A').map((b) => b.line)).toEqual([1, 4]);
  });

  it('strips a BOM and keeps CRLF inside the statements it round-trips', () => {
    const text = '\uFEFFA=1\r\nB="x\r\ny"\r\n';
    const doc = parseEnv(text);
    expect(doc.bom).toBe(true);
    expect(values(text)).toEqual({ A: '1', B: 'x\ny' });
    expect(serializeEnv(doc)).toBe(text);
  });

  it('names file, line and column of an unparseable statement', () => {
    const e = parseError('A=1\n  B="open\n', 'app/.env');
    expect(e.code).toBe('E_ENV_PARSE');
    expect(e.message).toMatch(/^app\/\.env:2:5: /u);
    expect(parseError('A=1\nB="x" junk\n').message).toMatch(/^\.env:2:7: .*after the value/u);
    expect(parseError('=v\n').message).toMatch(/^\.env:1:1: .*variable name/u);
    expect(e.hint).toMatch(/fix the line/u);
  });

  it('never puts a value into a parse error', () => {
    const e = parseError('SECRET="hunter2hunter2 never closed\n');
    expect(`${e.message} ${e.hint}`).not.toContain('hunter2');
  });
});

describe('expandValue', () => {
  it('uses python-dotenv rules: set-but-empty wins over the default', () => {
    expect(expandValue('${A:-d}/${B:-d}/${C}', { A: '', B: undefined })).toBe('/d/');
  });
});

/** The container env of a text as validateEnv takes it (values as python-dotenv loads them, with lines). */
const container = (text: string) => {
  const doc = parseEnv(text);
  const values = resolveEnv(doc);
  return new Map(doc.bindings.filter((b) => b.key !== undefined).map((b) => [b.key as string, { value: values.get(b.key as string) ?? '', line: b.line }]));
};

describe('validateEnv', () => {
  it('names the missing variable and who needs it, and the line of a bad URL', () => {
    const problems = validateEnv(container('FLASK_SECRET_KEY_FILE=/run/secrets/k\nDATABASE_URL=mysql://u@localhost:3306/d\nX=http://h:99999/\n'));
    const messages = problems.map((p) => p.message);
    expect(messages).toContain('.env: REDIS_URL is missing or empty; the app (Flask-Session, RQ) to reach Redis needs it');
    expect(messages).toContain('.env:2: DATABASE_URL still points at localhost; inside the stack use mysql');
    expect(messages).toContain('.env:3: X has an invalid port "99999"');
    expect(problems.find((p) => p.key === 'FLASK_SECRET_KEY')).toBeUndefined();
  });

  it('accepts URLs assembled from references', () => {
    const text = 'H=mysql\nDATABASE_URL=mysql://u:${P}@${H}:3306/d\nREDIS_URL=redis://redis:6379/0\nFLASK_SECRET_KEY=a\nPLATFORM_ENCRYPTION_KEY=b\n';
    expect(validateEnv(container(text))).toEqual([]);
  });
});

describe('transformEnv with duplicated secrets', () => {
  it('keeps the last value, and a URL password equal to the overridden one gets its own secret', () => {
    const r = transformEnv('DB_PASSWORD=old-pass\nDB_PASSWORD=new-pass\nDATABASE_URL=mysql://u:old-pass@localhost/d\n');
    expect(r.secrets.mysql_password).toBe('new-pass');
    expect(Object.entries(r.secrets).find(([, v]) => v === 'old-pass')?.[0]).toBe('database_url_password');
    expect(r.env).toContain('DATABASE_URL=mysql://u:__FERRY_SECRET_DATABASE_URL_PASSWORD__@mysql:3306/d');
  });
});
