/**
 * Schema facts for verify: the catalog normalised to sorted lines (`column public.users.email: public.email
 * not null`), so source and target compare as facts, not as dump text (which differs in order, OIDs and
 * pg_dump versions). Covers tables, columns, constraints, indexes, views, sequences, types, functions,
 * triggers, policies, comments, grants and extensions.
 */
import type pg from 'pg';

const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'`;

const QUERIES: readonly string[] = [
  `SELECT 'relation ' || n.nspname || '.' || c.relname || ': ' || c.relkind::text || CASE WHEN c.relrowsecurity THEN ' rls' ELSE '' END
     || ' owner ' || pg_get_userbyid(c.relowner) || ' acl ' || array_to_string(array(SELECT x FROM unnest(coalesce(c.relacl, acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))::text[]) x ORDER BY 1), ',')
     || coalesce(' comment ' || obj_description(c.oid, 'pg_class'), '') AS f
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NS} AND c.relkind IN ('r','p','v','m','S','f')`,
  `SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ': ' || format_type(a.atttypid, a.atttypmod)
     || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
     || CASE a.attgenerated WHEN 's' THEN ' generated' ELSE '' END || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
     || coalesce(' comment ' || col_description(c.oid, a.attnum), '') AS f
   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
   WHERE ${USER_NS} AND c.relkind IN ('r','p','v','m','f') AND a.attnum > 0 AND NOT a.attisdropped`,
  `SELECT 'constraint ' || n.nspname || '.' || c.relname || '.' || k.conname || ': ' || pg_get_constraintdef(k.oid) AS f
   FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NS}`,
  `SELECT 'index ' || n.nspname || '.' || i.relname || ': ' || pg_get_indexdef(i.oid) AS f
   FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace WHERE ${USER_NS}`,
  `SELECT 'view ' || n.nspname || '.' || c.relname || ': ' || regexp_replace(pg_get_viewdef(c.oid), '\\s+', ' ', 'g') AS f
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NS} AND c.relkind IN ('v','m')`,
  `SELECT 'type ' || n.nspname || '.' || t.typname || ': ' || t.typtype::text || coalesce(' ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
     || CASE WHEN t.typtype = 'd' THEN ' ' || format_type(t.typbasetype, t.typtypmod) ELSE '' END AS f
   FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_NS} AND t.typtype IN ('e','d','r','c')
     AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')`,
  `SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || '): ' || md5(pg_get_functiondef(p.oid)) AS f
   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_NS} AND p.prokind IN ('f','p')
     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`,
  `SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname || ': ' || pg_get_triggerdef(t.oid) AS f
   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NS} AND NOT t.tgisinternal`,
  `SELECT 'policy ' || schemaname || '.' || tablename || '.' || policyname || ': ' || permissive || ' ' || array_to_string(roles, ',') || ' ' || cmd
     || coalesce(' using ' || qual, '') || coalesce(' check ' || with_check, '') AS f FROM pg_policies`,
  `SELECT 'schema ' || n.nspname || ' owner ' || pg_get_userbyid(n.nspowner) || ' acl ' || array_to_string(array(SELECT x FROM unnest(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))::text[]) x ORDER BY 1), ',') AS f
   FROM pg_namespace n WHERE ${USER_NS}`,
  `SELECT 'extension ' || extname AS f FROM pg_extension`,
  `SELECT 'default acl ' || pg_get_userbyid(d.defaclrole) || ' ' || coalesce(n.nspname, '*') || ' ' || d.defaclobjtype::text || ' ' || array_to_string(array(SELECT x FROM unnest(d.defaclacl::text[]) x ORDER BY 1), ',') AS f
   FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace`,
];

/** Sorted fact lines of the connected database. */
export async function describeSchema(c: pg.Client): Promise<string[]> {
  const out: string[] = [];
  for (const sql of QUERIES) for (const r of (await c.query<{ f: string | null }>(sql)).rows) if (r.f) out.push(r.f);
  return out.sort();
}

/** Facts only one side has: `missing` on the target, `extra` there. */
export function diffFacts(source: readonly string[], target: readonly string[]): { missing: string[]; extra: string[] } {
  const s = new Set(source);
  const t = new Set(target);
  return { missing: source.filter((x) => !t.has(x)), extra: target.filter((x) => !s.has(x)) };
}
