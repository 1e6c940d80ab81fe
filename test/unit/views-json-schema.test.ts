import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DECLARATION_KEYS } from '../../src/views/declaration';
import { bundledSchemaDir } from '../../src/views/load';

/**
 * The JSON schemas editors use for the declarations (schema/wavegate.view.schema.json and
 * schema/wavegate.project.schema.json, named in each file's `# yaml-language-server: $schema=`
 * line) must allow exactly the keys the loader allows, and accept the bundled declarations. The
 * loader (src/views/declaration.ts) is the authority; the schemas only help while typing.
 */

type Schema = { [k: string]: unknown };
const dir = bundledSchemaDir();
const viewSchema = JSON.parse(readFileSync(join(dir, 'wavegate.view.schema.json'), 'utf8')) as Schema;
const projectSchema = JSON.parse(readFileSync(join(dir, 'wavegate.project.schema.json'), 'utf8')) as Schema;

/** Follows `#/definitions/...` references (and one level of oneOf with an object branch). */
function resolve(root: Schema, s: Schema): Schema {
  let cur = s;
  for (;;) {
    const ref = cur['$ref'];
    if (typeof ref === 'string') {
      cur = ref.slice(2).split('/').reduce<Schema>((o, k) => o[k] as Schema, root);
      continue;
    }
    const oneOf = cur['oneOf'] as Schema[] | undefined;
    const objectBranch = oneOf?.map((b) => resolve(root, b)).find((b) => b['type'] === 'object' && b['properties'] !== undefined);
    if (objectBranch !== undefined) return objectBranch;
    return cur;
  }
}

/** The schema at a path of keys: property names, or `*` for a map's values (additionalProperties). */
function at(root: Schema, path: readonly string[]): Schema {
  let cur = resolve(root, root);
  for (const key of path) {
    const next = key === '*' ? cur['additionalProperties'] : (cur['properties'] as Schema | undefined)?.[key];
    if (next === undefined || typeof next !== 'object') throw new Error(`schema has nothing at ${path.join('.')} (${key})`);
    cur = resolve(root, next as Schema);
  }
  return cur;
}

const keysAt = (root: Schema, path: readonly string[]) => Object.keys((at(root, path)['properties'] as Schema | undefined) ?? {}).sort();

/** Where each list of DECLARATION_KEYS lives in the schemas. */
const PLACES: Record<keyof typeof DECLARATION_KEYS, [Schema, readonly string[]]> = {
  project: [projectSchema, []],
  role: [projectSchema, ['roles', '*']],
  view: [viewSchema, []],
  column: [viewSchema, ['columns', '*']],
  index: [viewSchema, ['indexes', '*']],
  graphql: [viewSchema, ['graphql']],
  lookup: [viewSchema, ['graphql', 'lookup']],
  connection: [viewSchema, ['graphql', 'connection']],
  list: [viewSchema, ['graphql', 'list']],
  subscription: [viewSchema, ['graphql', 'subscription']],
  filter: [viewSchema, ['graphql', 'connection', 'filters', '*']],
  enum: [viewSchema, ['graphql', 'enums', '*']],
  composite: [viewSchema, ['graphql', 'composites', '*']],
  relation: [viewSchema, ['graphql', 'relations', '*']],
  permission: [viewSchema, ['permissions', '*']],
  condition: [viewSchema, ['permissions', '*', 'rows', '*']],
  lookupRows: [viewSchema, ['permissions', '*', 'rows', '*', 'lookup']],
  mask: [viewSchema, ['permissions', '*', 'mask', '*']],
};

/** A small JSON Schema (draft-07 subset the schemas use) validator: the errors' paths, [] when valid. */
function validate(root: Schema, s: Schema, v: unknown, path = '$'): string[] {
  const ref = s['$ref'];
  if (typeof ref === 'string') return validate(root, ref.slice(2).split('/').reduce<Schema>((o, k) => o[k] as Schema, root), v, path);
  const errs: string[] = [];
  const isObj = v !== null && typeof v === 'object' && !Array.isArray(v);
  if (s['const'] !== undefined && v !== s['const']) errs.push(`${path}: not ${JSON.stringify(s['const'])}`);
  if (Array.isArray(s['enum']) && !(s['enum'] as unknown[]).includes(v)) errs.push(`${path}: ${JSON.stringify(v)} not in enum`);
  const type = s['type'];
  if (type !== undefined) {
    const ok = type === 'object' ? isObj : type === 'array' ? Array.isArray(v) : type === 'integer' ? Number.isInteger(v)
      : type === 'null' ? v === null : typeof v === type;
    if (!ok) return [...errs, `${path}: not ${String(type)}`];
  }
  if (typeof v === 'string' && typeof s['pattern'] === 'string' && !new RegExp(s['pattern']).test(v)) errs.push(`${path}: ${v} does not match`);
  if (typeof v === 'number') {
    if (typeof s['minimum'] === 'number' && v < s['minimum']) errs.push(`${path}: below minimum`);
    if (typeof s['maximum'] === 'number' && v > s['maximum']) errs.push(`${path}: above maximum`);
  }
  if (Array.isArray(v)) {
    if (typeof s['minItems'] === 'number' && v.length < s['minItems']) errs.push(`${path}: too few items`);
    if (s['uniqueItems'] === true && new Set(v.map((x) => JSON.stringify(x))).size !== v.length) errs.push(`${path}: duplicate items`);
    if (s['items'] !== undefined) v.forEach((x, i) => errs.push(...validate(root, s['items'] as Schema, x, `${path}[${i}]`)));
  }
  if (isObj) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const props = (s['properties'] as Record<string, Schema> | undefined) ?? {};
    for (const r of (s['required'] as string[] | undefined) ?? []) if (!(r in o)) errs.push(`${path}: missing ${r}`);
    if (typeof s['minProperties'] === 'number' && keys.length < s['minProperties']) errs.push(`${path}: too few keys`);
    if (typeof s['maxProperties'] === 'number' && keys.length > s['maxProperties']) errs.push(`${path}: too many keys`);
    for (const k of keys) {
      if (s['propertyNames'] !== undefined) errs.push(...validate(root, s['propertyNames'] as Schema, k, `${path}.${k} (name)`));
      const sub = props[k];
      if (sub !== undefined) errs.push(...validate(root, sub, o[k], `${path}.${k}`));
      else if (s['additionalProperties'] === false) errs.push(`${path}: unknown key ${k}`);
      else if (typeof s['additionalProperties'] === 'object') errs.push(...validate(root, s['additionalProperties'] as Schema, o[k], `${path}.${k}`));
    }
  }
  if (Array.isArray(s['oneOf'])) {
    const passing = (s['oneOf'] as Schema[]).filter((b) => validate(root, b, v, path).length === 0).length;
    if (passing !== 1) errs.push(`${path}: matches ${passing} of oneOf`);
  }
  if (Array.isArray(s['allOf'])) for (const b of s['allOf'] as Schema[]) errs.push(...validate(root, b, v, path));
  if (s['not'] !== undefined && validate(root, s['not'] as Schema, v, path).length === 0) errs.push(`${path}: matches not`);
  return errs;
}

const yamlOf = (file: string): unknown => parse(readFileSync(join(dir, file), 'utf8'), { version: '1.2' });

describe('JSON schemas of the declarations', () => {
  test.each(Object.keys(PLACES) as Array<keyof typeof DECLARATION_KEYS>)('%s: the schema allows exactly the keys the loader allows', (name) => {
    const [root, path] = PLACES[name];
    expect(keysAt(root, path)).toEqual([...DECLARATION_KEYS[name]].sort());
    expect(at(root, path)['additionalProperties']).toBe(false);
  });

  test('the bundled declarations are valid and name their schema for yaml-language-server', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toHaveLength(5);
    for (const f of files) {
      const schemaFile = f === 'wavegate.yaml' ? 'wavegate.project.schema.json' : 'wavegate.view.schema.json';
      expect(readFileSync(join(dir, f), 'utf8').split('\n')[0]).toBe(`# yaml-language-server: $schema=./${schemaFile}`);
      expect([f, validate(f === 'wavegate.yaml' ? projectSchema : viewSchema, f === 'wavegate.yaml' ? projectSchema : viewSchema, yamlOf(f))]).toEqual([f, []]);
    }
  });

  test('typos the loader refuses are refused by the schema too', () => {
    const bad = (edit: (d: Record<string, unknown>) => void): string[] => {
      const d = yamlOf('trip_history.yaml') as Record<string, unknown>;
      edit(d);
      return validate(viewSchema, viewSchema, d);
    };
    expect(bad((d) => { d['permision'] = {}; })).toEqual(['$: unknown key permision']);
    expect(bad((d) => { (d['columns'] as Record<string, Record<string, unknown>>)['status']!['type'] = 'string'; }))
      .toEqual(['$.columns.status.type: "string" not in enum']);
    expect(bad((d) => { (d['permissions'] as Record<string, Record<string, unknown>>)['rider']!['rows'] = { rider_id: { eq: 'sub', in: 'x' } }; }))
      .not.toEqual([]);
    expect(validate(projectSchema, projectSchema, { ...(yamlOf('wavegate.yaml') as object), roles: { ops: { claims: { exp: 'string' } } } })).not.toEqual([]);
  });
});
