import { parseDocument } from 'yaml';
import { GatewayError, GatewayErrorCode } from '../errors';
import type {
  ClaimDecl, ClaimValue, ColumnModel, ColumnType, FilterModel, IndexModel, Mask, OrderingModel, Permission, Predicate,
  RoleDecl, ViewGraphql, ViewModel,
} from './model';

/**
 * Parsing and checking the declarations of the schema directory (docs/VIEWS.md): `wavegate.yaml`
 * (the roles) and `<view>.yaml` (one view). Every problem is a BAD_CONFIG {@link GatewayError}
 * whose message names the file and the path inside it, e.g.
 * `schema/trip_history.yaml: permissions.rider.rows.rider_id: unknown claim "sub2"`, and says what
 * to change. Unknown keys are refused (a typo must not silently drop a permission).
 *
 * The checks that need several files (lookups and relations into other views, names unique across
 * views) are in {@link checkViews}; reading files and SQL is src/views/load.ts.
 */

/** The project declaration (`wavegate.yaml`). */
export interface ProjectDeclaration {
  readonly roles: readonly RoleDecl[];
  readonly sqlDefaultRole: string;
  readonly authOffRole: string;
}

/** A view declaration before its SQL is attached (src/views/load.ts adds `sql` and `dependsOn`). */
export type ViewDeclaration = Omit<ViewModel, 'sql' | 'dependsOn'>;

export const COLUMN_TYPES: readonly ColumnType[] = ['text', 'int', 'float', 'numeric', 'timestamptz', 'date', 'bool'];
/** Claims a role may not declare: `sub` is implicit, the others are the JWT's registered claims and the role. */
export const RESERVED_CLAIMS: readonly string[] = ['sub', 'role', 'iss', 'aud', 'exp', 'nbf', 'iat', 'jti'];
/** Built-in GraphQL scalars a column may be typed as with `graphql_type` (besides declared enums). */
export const GRAPHQL_SCALARS: readonly string[] = ['ID', 'String', 'Int', 'Float', 'Boolean'];

/**
 * The keys each mapping of a declaration may have (anything else is refused). The JSON schemas for
 * editors (schema/wavegate.*.schema.json) list the same keys; test/unit/views-json-schema.test.ts
 * keeps them in step.
 */
export const DECLARATION_KEYS = {
  project: ['roles', 'sql_default_role', 'auth_off_role'],
  role: ['description', 'claims', 'graphql', 'sample'],
  view: ['view', 'description', 'key', 'columns', 'indexed', 'indexes', 'graphql', 'permissions', 'sink'],
  column: ['type', 'nullable', 'field', 'graphql_type', 'description'],
  index: ['columns', 'distributed_by'],
  graphql: ['type', 'description', 'lookup', 'connection', 'list', 'subscription', 'enums', 'composites', 'relations'],
  lookup: ['field', 'args', 'description'],
  connection: ['field', 'description', 'order', 'filters', 'default_first', 'max_first'],
  list: ['field', 'description', 'order', 'filters', 'required', 'max'],
  subscription: ['field', 'description', 'filters', 'required', 'exclusive', 'change_type', 'node_field'],
  filter: ['column', 'op', 'description'],
  enum: ['type', 'description', 'values'],
  composite: ['type', 'description', 'type_description', 'fields', 'null_when'],
  relation: ['view', 'on', 'type', 'type_description', 'columns', 'description', 'denied'],
  permission: ['rows', 'columns', 'mask'],
  condition: ['eq', 'in', 'lookup'],
  lookupRows: ['view', 'select', 'where'],
  mask: ['round'],
} as const satisfies Record<string, readonly string[]>;
const K = DECLARATION_KEYS;

/** SQL names of views, columns, roles, claims and indexes: lower-case unquoted identifiers. */
const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,127}$/;

/** `driver_id` → `driverId`. */
export function camelCase(name: string): string {
  return name.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/_+$/, '');
}

/** `trip_history` → `TripHistory`. */
export function pascalCase(name: string): string {
  const c = camelCase(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** `DriverStats` → `driverStats`. */
function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** A position inside a declaration file: the file (as shown to the user) and the key path. */
export class Where {
  constructor(readonly file: string, readonly path: string = '') {}

  /** The position of `key` below this one. */
  at(key: string | number): Where {
    if (typeof key === 'number') return new Where(this.file, `${this.path}[${key}]`);
    const k = /^[A-Za-z0-9_]+$/.test(key) ? key : JSON.stringify(key);
    return new Where(this.file, this.path === '' ? k : `${this.path}.${k}`);
  }

  /** A BAD_CONFIG error at this position. */
  error(message: string, cause?: unknown): GatewayError {
    const text = this.path === '' ? `${this.file}: ${message}` : `${this.file}: ${this.path}: ${message}`;
    return new GatewayError(GatewayErrorCode.BAD_CONFIG, text, { cause, details: { file: this.file, path: this.path } });
  }
}

/** A YAML mapping read as a Map (ordered, no prototype keys); keys are checked to be strings. */
type YMap = ReadonlyMap<string, unknown>;

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (v instanceof Map) return 'a mapping';
  if (Array.isArray(v)) return 'a list';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function isMap(v: unknown): v is Map<unknown, unknown> {
  return v instanceof Map;
}

/** Reads a mapping with only the `allowed` keys (and `required` ones present). */
function mapping(w: Where, v: unknown, allowed: readonly string[], required: readonly string[] = []): YMap {
  if (!isMap(v)) throw w.error(`expected a mapping, got ${describe(v)}`);
  const out = new Map<string, unknown>();
  for (const [k, val] of v) {
    if (typeof k !== 'string') throw w.error(`keys must be strings, got ${describe(k)}`);
    if (!allowed.includes(k)) throw w.error(`unknown key "${k}" (expected one of: ${allowed.join(', ')})`);
    out.set(k, val);
  }
  for (const r of required) if (!out.has(r)) throw w.error(`missing key "${r}"`);
  return out;
}

/** Reads a mapping with free (string) keys: name → value. */
function entries(w: Where, v: unknown): Array<[string, unknown]> {
  if (!isMap(v)) throw w.error(`expected a mapping, got ${describe(v)}`);
  const out: Array<[string, unknown]> = [];
  for (const [k, val] of v) {
    if (typeof k !== 'string') throw w.error(`keys must be strings, got ${describe(k)}`);
    out.push([k, val]);
  }
  return out;
}

function str(w: Where, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw w.error(`expected a non-empty string, got ${describe(v)}`);
  return v;
}

function optStr(w: Where, v: unknown): string | undefined {
  return v === undefined ? undefined : str(w, v);
}

function bool(w: Where, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw w.error(`expected true or false, got ${describe(v)}`);
  return v;
}

function int(w: Where, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw w.error(`expected an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

function list(w: Where, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw w.error(`expected a list, got ${describe(v)}`);
  return v;
}

function sqlName(w: Where, v: unknown, what: string): string {
  const s = str(w, v);
  if (!SQL_NAME.test(s)) throw w.error(`${what} "${s}" is not a lower-case SQL name (letters, digits, _; at most 63)`);
  return s;
}

function graphqlName(w: Where, v: unknown): string {
  const s = str(w, v);
  if (!GRAPHQL_NAME.test(s) || s.startsWith('__')) throw w.error(`"${s}" is not a GraphQL name ([_A-Za-z][_0-9A-Za-z]*, not starting with __)`);
  return s;
}

/** Parses YAML text into plain values with mappings as Maps; syntax errors and duplicate keys are BAD_CONFIG. */
export function parseYaml(file: string, text: string): unknown {
  const doc = parseDocument(text, { version: '1.2', schema: 'core', uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0];
    throw new Where(file).error(`invalid YAML${line === undefined ? '' : ` at line ${line.line}, column ${line.col}`}: ${first.message.split('\n')[0] ?? ''}`);
  }
  try {
    return doc.toJS({ mapAsMap: true, maxAliasCount: 100 });
  } catch (e) {
    throw new Where(file).error(`invalid YAML: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

// ---------------------------------------------------------------------------------------------
// wavegate.yaml

/** Parses and checks `wavegate.yaml`. `file` is the name shown in errors. */
export function parseProjectDeclaration(file: string, text: string): ProjectDeclaration {
  const w = new Where(file);
  const top = mapping(w, parseYaml(file, text), K.project, K.project);
  const roles: RoleDecl[] = [];
  const rolesAt = w.at('roles');
  for (const [name, v] of entries(rolesAt, top.get('roles'))) {
    const rw = rolesAt.at(name);
    sqlName(rw, name, 'role name');
    const m = mapping(rw, v ?? new Map(), K.role);
    const claims: ClaimDecl[] = [];
    if (m.has('claims')) {
      const cw = rw.at('claims');
      for (const [claim, t] of entries(cw, m.get('claims'))) {
        sqlName(cw.at(claim), claim, 'claim name');
        if (RESERVED_CLAIMS.includes(claim)) {
          throw cw.at(claim).error(`"${claim}" is reserved (every token has sub and role; ${RESERVED_CLAIMS.slice(2).join(', ')} are JWT registered claims): pick another name`);
        }
        if (t !== 'string' && t !== 'string[]') throw cw.at(claim).error(`claim type must be string or string[], got ${describe(t)}`);
        claims.push({ name: claim, type: t });
      }
    }
    const role: { -readonly [K in keyof RoleDecl]: RoleDecl[K] } = {
      name,
      description: optStr(rw.at('description'), m.get('description')) ?? '',
      claims,
      graphql: bool(rw.at('graphql'), m.get('graphql'), true),
    };
    if (m.has('sample')) {
      const sw = rw.at('sample');
      const sample: Record<string, ClaimValue> = {};
      for (const [claim, value] of entries(sw, m.get('sample'))) {
        const type = claim === 'sub' ? 'string' : claims.find((c) => c.name === claim)?.type;
        if (type === undefined) throw sw.at(claim).error(`unknown claim "${claim}" (declare it under roles.${name}.claims)`);
        if (type === 'string') sample[claim] = str(sw.at(claim), value);
        else sample[claim] = list(sw.at(claim), value).map((x, i) => str(sw.at(claim).at(i), x));
      }
      if (sample['sub'] === undefined) throw sw.error('a sample needs sub');
      for (const c of claims) if (sample[c.name] === undefined) throw sw.error(`a sample needs every declared claim: missing ${c.name}`);
      role.sample = sample;
    }
    roles.push(role);
  }
  if (roles.length === 0) throw rolesAt.error('declare at least one role');
  const roleRef = (key: string): string => {
    const rw = w.at(key);
    const name = str(rw, top.get(key));
    if (!roles.some((r) => r.name === name)) throw rw.error(`unknown role "${name}" (declared: ${roles.map((r) => r.name).join(', ')})`);
    return name;
  };
  return { roles, sqlDefaultRole: roleRef('sql_default_role'), authOffRole: roleRef('auth_off_role') };
}

// ---------------------------------------------------------------------------------------------
// <view>.yaml


/** Column references inside one view: each must be a declared column. */
class Columns {
  constructor(private readonly view: string, readonly all: readonly ColumnModel[]) {}

  get(w: Where, v: unknown): ColumnModel {
    const name = str(w, v);
    const c = this.all.find((x) => x.name === name);
    if (c === undefined) throw w.error(`unknown column "${name}" of view ${this.view} (columns: ${this.all.map((x) => x.name).join(', ')})`);
    return c;
  }

  name(w: Where, v: unknown): string {
    return this.get(w, v).name;
  }

  names(w: Where, v: unknown, nonEmpty = true): string[] {
    const out = list(w, v).map((x, i) => this.name(w.at(i), x));
    if (nonEmpty && out.length === 0) throw w.error('expected at least one column');
    const dup = out.find((c, i) => out.indexOf(c) !== i);
    if (dup !== undefined) throw w.error(`column "${dup}" is listed twice`);
    return out;
  }
}

function parseColumns(w: Where, v: unknown): ColumnModel[] {
  const out: ColumnModel[] = [];
  for (const [name, spec] of entries(w, v)) {
    const cw = w.at(name);
    sqlName(cw, name, 'column name');
    const m = mapping(cw, spec, K.column, ['type']);
    const type = m.get('type');
    if (typeof type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(type)) {
      throw cw.at('type').error(`unknown type ${describe(type)} (one of: ${COLUMN_TYPES.join(', ')})`);
    }
    const f = m.get('field');
    let field: string | undefined;
    if (f === false) field = undefined;
    else if (f === undefined || f === true) field = camelCase(name);
    else field = graphqlName(cw.at('field'), f);
    const col: { -readonly [K in keyof ColumnModel]: ColumnModel[K] } = {
      name, type: type as ColumnType, nullable: bool(cw.at('nullable'), m.get('nullable'), true),
    };
    const description = optStr(cw.at('description'), m.get('description'));
    if (description !== undefined) col.description = description;
    if (field !== undefined) col.field = field;
    if (m.has('graphql_type')) col.graphqlType = graphqlName(cw.at('graphql_type'), m.get('graphql_type'));
    out.push(col);
  }
  if (out.length === 0) throw w.error('declare at least one column');
  return out;
}

/** `col [asc|desc] [nulls first|last]` (Postgres defaults: ASC → NULLS LAST, DESC → NULLS FIRST). */
function parseOrderEntry(w: Where, v: unknown, cols: Columns): { column: string; desc: boolean; nullsLast: boolean } {
  const words = str(w, v).trim().split(/\s+/);
  const column = cols.name(w, words[0]);
  let i = 1;
  let desc = false;
  const dir = words[i]?.toLowerCase();
  if (dir === 'asc' || dir === 'desc') {
    desc = dir === 'desc';
    i++;
  }
  let nullsLast = !desc;
  if (words[i]?.toLowerCase() === 'nulls') {
    const n = words[i + 1]?.toLowerCase();
    if (n !== 'first' && n !== 'last') throw w.error(`expected "nulls first" or "nulls last" in "${String(v)}"`);
    nullsLast = n === 'last';
    i += 2;
  }
  if (i !== words.length) throw w.error(`expected "column [asc|desc] [nulls first|last]", got "${String(v)}"`);
  return { column, desc, nullsLast };
}

/**
 * An ordering: its columns, which must include every key column not fixed by a required equality
 * filter (so the order is total and keyset cursors are exact).
 */
function parseOrdering(w: Where, v: unknown, name: string, cols: Columns, key: readonly string[], fixed: readonly string[]): OrderingModel {
  const entriesIn = v === undefined ? key.map((k) => k) : list(w, v);
  const columns = entriesIn.map((e, i) => parseOrderEntry(w.at(i), e, cols));
  if (columns.length === 0) throw w.error('expected at least one column');
  const dup = columns.find((c, i) => columns.findIndex((d) => d.column === c.column) !== i);
  if (dup !== undefined) throw w.error(`column "${dup.column}" is listed twice`);
  const missing = key.filter((k) => !fixed.includes(k) && !columns.some((c) => c.column === k));
  if (missing.length > 0) {
    throw w.error(`the ordering must end with the key so that it is total: add ${missing.join(', ')} (key: ${key.join(', ')})`);
  }
  return { name, columns };
}

function parseFilters(w: Where, v: unknown, cols: Columns, eqOnly: boolean): FilterModel[] {
  if (v === undefined) return [];
  const out: FilterModel[] = [];
  for (const [arg, spec] of entries(w, v)) {
    const fw = w.at(arg);
    graphqlName(fw, arg);
    const m = mapping(fw, spec, K.filter, ['column']);
    const op = m.get('op') ?? 'eq';
    if (op !== 'eq' && op !== 'gte' && op !== 'gt' && op !== 'lte' && op !== 'lt') {
      throw fw.at('op').error(`unknown op ${describe(op)} (one of: eq, gte, gt, lte, lt)`);
    }
    if (eqOnly && op !== 'eq') throw fw.at('op').error('subscription filters are equalities: op must be eq');
    const f: { -readonly [K in keyof FilterModel]: FilterModel[K] } = { arg, column: cols.name(fw.at('column'), m.get('column')), op };
    const description = optStr(fw.at('description'), m.get('description'));
    if (description !== undefined) f.description = description;
    out.push(f);
  }
  return out;
}

function parseRequired(w: Where, v: unknown, filters: readonly FilterModel[]): string[] {
  if (v === undefined) return [];
  return list(w, v).map((x, i) => {
    const arg = str(w.at(i), x);
    if (!filters.some((f) => f.arg === arg)) throw w.at(i).error(`"${arg}" is not one of the filters (${filters.map((f) => f.arg).join(', ') || 'none'})`);
    return arg;
  });
}

/** Key columns fixed to one value by a required equality filter. */
function fixedColumns(filters: readonly FilterModel[], required: readonly string[]): string[] {
  return filters.filter((f) => f.op === 'eq' && required.includes(f.arg)).map((f) => f.column);
}


function parseGraphql(w: Where, v: unknown, view: string, cols: Columns, key: readonly string[], indexed: readonly string[]): ViewGraphql {
  const m = mapping(w, v ?? new Map(), K.graphql);
  const type = m.has('type') ? graphqlName(w.at('type'), m.get('type')) : pascalCase(view);
  const g: { -readonly [K in keyof ViewGraphql]: ViewGraphql[K] } = { type, enums: [], composites: [], relations: [] };
  const description = optStr(w.at('description'), m.get('description'));
  if (description !== undefined) g.description = description;

  if (m.has('enums')) {
    const ew = w.at('enums');
    g.enums = entries(ew, m.get('enums')).map(([column, spec]) => {
      const cw = ew.at(column);
      const col = cols.get(cw, column);
      if (col.type !== 'text') throw cw.error(`an enum needs a text column; ${column} is ${col.type}`);
      const e = mapping(cw, spec, K.enum, ['type', 'values']);
      const values = list(cw.at('values'), e.get('values')).map((x, i) => {
        const s = graphqlName(cw.at('values').at(i), x);
        if (s === 'true' || s === 'false' || s === 'null') throw cw.at('values').at(i).error(`"${s}" cannot be an enum value`);
        return s;
      });
      if (values.length === 0) throw cw.at('values').error('expected at least one value');
      const enumDescription = optStr(cw.at('description'), e.get('description'));
      return { column, type: graphqlName(cw.at('type'), e.get('type')), values, ...(enumDescription === undefined ? {} : { description: enumDescription }) };
    });
  }

  if (m.has('composites')) {
    const cw0 = w.at('composites');
    g.composites = entries(cw0, m.get('composites')).map(([field, spec]) => {
      const cw = cw0.at(field);
      graphqlName(cw, field);
      const c = mapping(cw, spec, K.composite, ['type', 'fields', 'null_when']);
      const fields: Record<string, string> = {};
      for (const [sub, col] of entries(cw.at('fields'), c.get('fields'))) {
        graphqlName(cw.at('fields').at(sub), sub);
        fields[sub] = cols.name(cw.at('fields').at(sub), col);
      }
      if (Object.keys(fields).length === 0) throw cw.at('fields').error('expected at least one field');
      const out: { -readonly [K in keyof ViewGraphql['composites'][number]]: ViewGraphql['composites'][number][K] } = {
        field, type: graphqlName(cw.at('type'), c.get('type')), fields, nullWhen: cols.name(cw.at('null_when'), c.get('null_when')),
      };
      const d = optStr(cw.at('description'), c.get('description'));
      if (d !== undefined) out.description = d;
      const td = optStr(cw.at('type_description'), c.get('type_description'));
      if (td !== undefined) out.typeDescription = td;
      return out;
    });
  }

  if (m.has('relations')) {
    const rw0 = w.at('relations');
    g.relations = entries(rw0, m.get('relations')).map(([field, spec]) => {
      const rw = rw0.at(field);
      graphqlName(rw, field);
      const r = mapping(rw, spec, K.relation, ['view', 'on']);
      const on: Record<string, string> = {};
      for (const [col, other] of entries(rw.at('on'), r.get('on'))) {
        cols.name(rw.at('on').at(col), col);
        on[col] = str(rw.at('on').at(col), other); // the other view's key: checked in checkViews
      }
      if (Object.keys(on).length === 0) throw rw.at('on').error('expected at least one column');
      const denied = r.get('denied') ?? 'null';
      if (denied !== 'null' && denied !== 'forbidden') throw rw.at('denied').error(`expected null or forbidden, got ${describe(denied)}`);
      const out: { -readonly [K in keyof ViewGraphql['relations'][number]]: ViewGraphql['relations'][number][K] } = {
        field, view: sqlName(rw.at('view'), r.get('view'), 'view name'), on, denied,
      };
      if (r.has('type')) out.type = graphqlName(rw.at('type'), r.get('type'));
      const td = optStr(rw.at('type_description'), r.get('type_description'));
      if (td !== undefined) out.typeDescription = td;
      if (r.has('columns')) {
        const cl = list(rw.at('columns'), r.get('columns')).map((x, i) => str(rw.at('columns').at(i), x)); // checked in checkViews
        if (cl.length === 0) throw rw.at('columns').error('expected at least one column');
        out.columns = cl;
      }
      const d = optStr(rw.at('description'), r.get('description'));
      if (d !== undefined) out.description = d;
      return out;
    });
  }

  if (m.has('lookup')) {
    const lw = w.at('lookup');
    const l = mapping(lw, m.get('lookup') ?? new Map(), K.lookup);
    const args: Record<string, string> = {};
    if (l.has('args')) {
      for (const [arg, col] of entries(lw.at('args'), l.get('args'))) {
        graphqlName(lw.at('args').at(arg), arg);
        args[arg] = cols.name(lw.at('args').at(arg), col);
      }
    } else {
      for (const k of key) args[cols.all.find((c) => c.name === k)?.field ?? camelCase(k)] = k;
    }
    const covered = Object.values(args);
    if (covered.length !== key.length || key.some((k) => !covered.includes(k))) {
      throw lw.at('args').error(`a lookup reads one row by its key: its arguments must name each key column once (${key.join(', ')}), got ${covered.join(', ') || 'none'}`);
    }
    const d = optStr(lw.at('description'), l.get('description'));
    g.lookup = { field: l.has('field') ? graphqlName(lw.at('field'), l.get('field')) : lowerFirst(type), args, ...(d === undefined ? {} : { description: d }) };
  }

  if (m.has('connection')) {
    const cw = w.at('connection');
    const c = mapping(cw, m.get('connection'), K.connection, ['field']);
    const filters = parseFilters(cw.at('filters'), c.get('filters'), cols, false);
    const maxFirst = int(cw.at('max_first'), c.get('max_first'), 100, 1, 10_000);
    const defaultFirst = int(cw.at('default_first'), c.get('default_first'), Math.min(20, maxFirst), 1, 10_000);
    if (defaultFirst > maxFirst) throw cw.at('default_first').error(`default_first (${defaultFirst}) exceeds max_first (${maxFirst})`);
    const d = optStr(cw.at('description'), c.get('description'));
    g.connection = {
      field: graphqlName(cw.at('field'), c.get('field')),
      ordering: parseOrdering(cw.at('order'), c.get('order'), 'default', cols, key, []),
      filters, defaultFirst, maxFirst, ...(d === undefined ? {} : { description: d }),
    };
  }

  if (m.has('list')) {
    const lw = w.at('list');
    const l = mapping(lw, m.get('list'), K.list, ['field']);
    const filters = parseFilters(lw.at('filters'), l.get('filters'), cols, false);
    const required = parseRequired(lw.at('required'), l.get('required'), filters);
    const d = optStr(lw.at('description'), l.get('description'));
    g.list = {
      field: graphqlName(lw.at('field'), l.get('field')),
      ordering: parseOrdering(lw.at('order'), l.get('order'), 'default', cols, key, fixedColumns(filters, required)),
      filters, required, max: int(lw.at('max'), l.get('max'), 1000, 1, 100_000), ...(d === undefined ? {} : { description: d }),
    };
  }

  if (m.has('subscription')) {
    const sw = w.at('subscription');
    const s = mapping(sw, m.get('subscription'), K.subscription, ['field']);
    const filters = parseFilters(sw.at('filters'), s.get('filters'), cols, true);
    filters.forEach((f) => {
      if (!indexed.includes(f.column) && !(key.length === 1 && key[0] === f.column)) {
        throw sw.at('filters').at(f.arg).error(`column ${f.column} is neither the key nor indexed: add it to indexed (the hub routes changes by indexed columns)`);
      }
    });
    const d = optStr(sw.at('description'), s.get('description'));
    g.subscription = {
      field: graphqlName(sw.at('field'), s.get('field')),
      filters,
      required: parseRequired(sw.at('required'), s.get('required'), filters),
      exclusive: bool(sw.at('exclusive'), s.get('exclusive'), false),
      changeType: s.has('change_type') ? graphqlName(sw.at('change_type'), s.get('change_type')) : `${type}Change`,
      nodeField: s.has('node_field') ? graphqlName(sw.at('node_field'), s.get('node_field')) : lowerFirst(type),
      ...(d === undefined ? {} : { description: d }),
    };
  }

  // Field names of the object type are unique.
  const fields = new Map<string, string>();
  const claimField = (name: string, what: string, fw: Where): void => {
    const prior = fields.get(name);
    if (prior !== undefined) throw fw.error(`GraphQL field "${name}" of ${type} is declared twice (${prior} and ${what}): rename one (columns: field)`);
    fields.set(name, what);
  };
  for (const c of cols.all) if (c.field !== undefined) claimField(c.field, `column ${c.name}`, new Where(w.file, `columns.${c.name}.field`));
  for (const c of g.composites) claimField(c.field, `composite ${c.field}`, w.at('composites').at(c.field));
  for (const r of g.relations) claimField(r.field, `relation ${r.field}`, w.at('relations').at(r.field));
  // A column typed with an enum: the enum is declared (here or in another view: checked in checkViews).
  return g;
}

// ---- permissions

interface RoleScope {
  readonly role: RoleDecl;
}

function claimRef(w: Where, v: unknown, scope: RoleScope, want: 'string' | 'string[]'): string {
  const claim = str(w, v);
  const type = claim === 'sub' ? 'string' : scope.role.claims.find((c) => c.name === claim)?.type;
  if (type === undefined) {
    const known = ['sub', ...scope.role.claims.map((c) => c.name)].join(', ');
    throw w.error(`unknown claim "${claim}" (role ${scope.role.name} has: ${known}; declare claims in wavegate.yaml)`);
  }
  if (type !== want) {
    throw w.error(want === 'string'
      ? `claim "${claim}" is a list (string[]): use in, not eq`
      : `claim "${claim}" is a single string: use eq, not in (in needs a string[] claim)`);
  }
  return claim;
}

/**
 * The rows grammar: `all` | `none` | `{ <column>: { eq|in: <claim> } }` |
 * `{ <column>: { lookup: { view, select, where } } }` | `{ and: [...] }` | `{ or: [...] }`;
 * several keys in one mapping are and-ed. Lookup views' columns are checked in {@link checkViews}.
 */
function parseRows(w: Where, v: unknown, cols: Columns, scope: RoleScope, inLookup: boolean): Predicate {
  if (v === 'all') return { kind: 'all' };
  if (v === 'none') return { kind: 'none' };
  if (!isMap(v)) throw w.error(`expected all, none or a mapping of column conditions, got ${describe(v)}`);
  const parts: Predicate[] = [];
  for (const [k, spec] of entries(w, v)) {
    const kw = w.at(k);
    if (k === 'and' || k === 'or') {
      const of = list(kw, spec).map((x, i) => parseRows(kw.at(i), x, cols, scope, inLookup));
      if (of.length === 0) throw kw.error(`expected at least one condition in ${k}`);
      parts.push({ kind: k, of });
      continue;
    }
    const column = cols.name(kw, k);
    const m = mapping(kw, spec, K.condition);
    if (m.size !== 1) throw kw.error('expected exactly one of eq, in, lookup');
    if (m.has('eq')) parts.push({ kind: 'eq', column, claim: claimRef(kw, m.get('eq'), scope, 'string') });
    else if (m.has('in')) parts.push({ kind: 'in', column, claim: claimRef(kw, m.get('in'), scope, 'string[]') });
    else {
      const lw = kw.at('lookup');
      if (inLookup) throw lw.error('a lookup\'s where may not contain another lookup');
      const l = mapping(lw, m.get('lookup'), K.lookupRows, K.lookupRows);
      const view = sqlName(lw.at('view'), l.get('view'), 'view name');
      // The where clause names the lookup view's columns: parsed against them in checkViews.
      parts.push({ kind: 'lookup', column, view, select: str(lw.at('select'), l.get('select')), where: { kind: 'none' }, pendingWhere: { at: lw, raw: l.get('where'), scope } } as LookupPending);
    }
  }
  if (parts.length === 0) throw w.error('expected at least one condition (write all or none for every row or no row)');
  return parts.length === 1 ? parts[0]! : { kind: 'and', of: parts };
}

/** A lookup whose `where` is parsed once every view's columns are known (checkViews; `at` is the lookup). Internal. */
type LookupPending = Extract<Predicate, { kind: 'lookup' }> & { pendingWhere?: { at: Where; raw: unknown; scope: RoleScope } };

function parseMask(w: Where, v: unknown, col: ColumnModel): Mask {
  if (v === null) return { kind: 'null' };
  const m = mapping(w, v, K.mask, K.mask);
  if (col.type !== 'float' && col.type !== 'numeric') throw w.error(`round applies to float or numeric columns; ${col.name} is ${col.type}`);
  return { kind: 'round', digits: int(w.at('round'), m.get('round'), 0, 0, 15) };
}

function parsePermissions(w: Where, v: unknown, cols: Columns, roles: readonly RoleDecl[]): Record<string, Permission> {
  const out: Record<string, Permission> = {};
  if (v === undefined) return out;
  for (const [roleName, spec] of entries(w, v)) {
    const pw = w.at(roleName);
    const role = roles.find((r) => r.name === roleName);
    if (role === undefined) throw pw.error(`unknown role "${roleName}" (declared in wavegate.yaml: ${roles.map((r) => r.name).join(', ')})`);
    const m = mapping(pw, spec, K.permission, ['rows']);
    const rows = parseRows(pw.at('rows'), m.get('rows'), cols, { role }, false);
    const columns = m.has('columns') ? cols.names(pw.at('columns'), m.get('columns')) : cols.all.map((c) => c.name);
    const masks: Record<string, Mask> = {};
    if (m.has('mask')) {
      for (const [column, mask] of entries(pw.at('mask'), m.get('mask'))) {
        const mw = pw.at('mask').at(column);
        const col = cols.get(mw, column);
        if (!columns.includes(column)) throw mw.error(`column ${column} is not readable by ${roleName} (not in columns): a mask applies to a readable column`);
        masks[column] = parseMask(mw, mask, col);
      }
    }
    out[roleName] = { rows, columns, masks };
  }
  return out;
}

/**
 * Parses and checks one view declaration (`<view>.yaml`) against the project's roles. `name` is
 * the view name the file is for (its base name); a `view:` key, if present, must agree. Lookups'
 * `where` need the other view's columns: they are complete only after {@link checkViews}
 * (loadRegistry always runs it).
 */
export function parseViewDeclaration(file: string, text: string, name: string, project: ProjectDeclaration): ViewDeclaration {
  const w = new Where(file);
  sqlName(w, name, 'view name');
  const m = mapping(w, parseYaml(file, text), K.view, ['key', 'columns']);
  if (m.has('view') && m.get('view') !== name) throw w.at('view').error(`says ${describe(m.get('view'))}, but the file is for view ${name}: rename the file or fix view`);
  const columns = parseColumns(w.at('columns'), m.get('columns'));
  const cols = new Columns(name, columns);
  const key = cols.names(w.at('key'), m.get('key'));
  const indexed = m.has('indexed') ? cols.names(w.at('indexed'), m.get('indexed'), false) : [];
  const indexes: IndexModel[] = [];
  if (m.has('indexes')) {
    const iw0 = w.at('indexes');
    for (const [index, spec] of entries(iw0, m.get('indexes'))) {
      const iw = iw0.at(index);
      sqlName(iw, index, 'index name');
      const i = mapping(iw, spec, K.index, ['columns']);
      const icols = list(iw.at('columns'), i.get('columns')).map((x, k) => {
        const e = parseOrderEntry(iw.at('columns').at(k), x, cols);
        if (e.nullsLast !== !e.desc) throw iw.at('columns').at(k).error('index columns take asc or desc only');
        return { column: e.column, desc: e.desc };
      });
      if (icols.length === 0) throw iw.at('columns').error('expected at least one column');
      const distributedBy = i.has('distributed_by') ? cols.name(iw.at('distributed_by'), i.get('distributed_by')) : icols[0]!.column;
      indexes.push({ name: index, columns: icols, distributedBy });
    }
  }
  const view: { -readonly [K in keyof ViewDeclaration]: ViewDeclaration[K] } = {
    name,
    description: optStr(w.at('description'), m.get('description')) ?? '',
    columns, key, indexed, indexes,
    permissions: parsePermissions(w.at('permissions'), m.get('permissions'), cols, project.roles),
    sink: bool(w.at('sink'), m.get('sink'), true),
  };
  if (m.has('graphql') && m.get('graphql') !== false) view.graphql = parseGraphql(w.at('graphql'), m.get('graphql'), name, cols, key, indexed);
  return view;
}

// ---------------------------------------------------------------------------------------------
// Checks across views

/**
 * Resolves and checks what one view says about others: lookups (the view exists, `select` and
 * `where` name its columns), relations (the view exists, `on` maps to its whole key, `columns`
 * exist), and GraphQL names unique across views. `fileOf` names each view's file for errors.
 * Returns the views with lookups' `where` parsed.
 */
export function checkViews<V extends ViewDeclaration>(views: readonly V[], fileOf: (view: string) => string): V[] {
  const byName = new Map(views.map((v) => [v.name, v]));
  const resolve = (p: Predicate): Predicate => {
    switch (p.kind) {
      case 'all': case 'none': case 'eq': case 'in':
        return p;
      case 'and': case 'or':
        return { kind: p.kind, of: p.of.map(resolve) };
      case 'lookup': {
        const pending = (p as LookupPending).pendingWhere;
        if (pending === undefined) return p;
        const target = byName.get(p.view);
        const lw = pending.at;
        if (target === undefined) throw lw.at('view').error(`unknown view "${p.view}" (views: ${[...byName.keys()].join(', ')})`);
        const tcols = new Columns(target.name, target.columns);
        const select = tcols.name(lw.at('select'), p.select);
        return { kind: 'lookup', column: p.column, view: target.name, select, where: parseRows(lw.at('where'), pending.raw, tcols, pending.scope, true) };
      }
      default: {
        const never: never = p;
        throw new Error(`unknown predicate ${JSON.stringify(never)}`);
      }
    }
  };
  const out = views.map((v) => {
    const permissions: Record<string, Permission> = {};
    for (const [role, perm] of Object.entries(v.permissions)) permissions[role] = { ...perm, rows: resolve(perm.rows) };
    for (const r of v.graphql?.relations ?? []) {
      const rw = new Where(fileOf(v.name), `graphql.relations.${r.field}`);
      const target = byName.get(r.view);
      if (target === undefined) throw rw.at('view').error(`unknown view "${r.view}" (views: ${[...byName.keys()].join(', ')})`);
      const targets = Object.values(r.on);
      if (targets.length !== target.key.length || target.key.some((k) => !targets.includes(k))) {
        throw rw.at('on').error(`must map to each key column of ${target.name} once (${target.key.join(', ')}), got ${targets.join(', ')}`);
      }
      const tcols = new Columns(target.name, target.columns);
      for (const c of r.columns ?? []) tcols.name(rw.at('columns'), c);
    }
    return { ...v, permissions };
  });
  checkGraphqlNames(out, fileOf);
  return out;
}

function checkGraphqlNames(views: readonly ViewDeclaration[], fileOf: (view: string) => string): void {
  const rootFields = new Map<string, string>();
  const types = new Map<string, { kind: string; shape: string; where: string }>();
  const enums = new Set<string>();
  const claimRoot = (root: string, field: string, w: Where): void => {
    const prior = rootFields.get(`${root}.${field}`);
    if (prior !== undefined) throw w.error(`${root} field "${field}" is also declared by ${prior}`);
    rootFields.set(`${root}.${field}`, w.file);
  };
  const claimType = (name: string, kind: string, shape: string, w: Where): void => {
    if (GRAPHQL_SCALARS.includes(name)) throw w.error(`"${name}" is a built-in GraphQL type: pick another type name`);
    const prior = types.get(name);
    if (prior === undefined) {
      types.set(name, { kind, shape, where: `${w.file}: ${w.path}` });
      return;
    }
    if (prior.kind !== kind || prior.shape !== shape) throw w.error(`GraphQL type "${name}" is also declared, differently, at ${prior.where}`);
  };
  for (const v of views) {
    const g = v.graphql;
    if (g === undefined) continue;
    const w = new Where(fileOf(v.name), 'graphql');
    claimType(g.type, 'view', v.name, w.at('type'));
    if (g.lookup) claimRoot('Query', g.lookup.field, w.at('lookup').at('field'));
    if (g.connection) claimRoot('Query', g.connection.field, w.at('connection').at('field'));
    if (g.list) claimRoot('Query', g.list.field, w.at('list').at('field'));
    if (g.subscription) {
      claimRoot('Subscription', g.subscription.field, w.at('subscription').at('field'));
      claimType(g.subscription.changeType, 'change', v.name, w.at('subscription').at('change_type'));
    }
    for (const e of g.enums) {
      claimType(e.type, 'enum', e.values.join(','), w.at('enums').at(e.column));
      enums.add(e.type);
    }
    for (const c of g.composites) {
      const shape = Object.entries(c.fields).map(([f, col]) => `${f}:${v.columns.find((x) => x.name === col)?.type ?? ''}`).join(',');
      claimType(c.type, 'composite', shape, w.at('composites').at(c.field));
    }
    for (const r of g.relations) {
      if (r.type !== undefined) claimType(r.type, 'relation', `${r.view}:${(r.columns ?? []).join(',')}`, w.at('relations').at(r.field));
    }
  }
  for (const v of views) {
    for (const c of v.columns) {
      if (c.graphqlType !== undefined && !GRAPHQL_SCALARS.includes(c.graphqlType) && !enums.has(c.graphqlType)) {
        throw new Where(fileOf(v.name), `columns.${c.name}.graphql_type`)
          .error(`unknown GraphQL type "${c.graphqlType}" (one of ${GRAPHQL_SCALARS.join(', ')} or a declared enum)`);
      }
    }
  }
}
