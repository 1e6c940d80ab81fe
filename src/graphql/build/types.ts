/**
 * The GraphQL types of the generated API, from the registry's `graphql:` declarations (graphql-js
 * types, built once per registry): per view an object type (column fields, enums, composites,
 * relations), a Relay connection and edge, and a change type for its subscription; plus the shared
 * PageInfo, ChangeKind and scalars. Root fields are schema.ts; their resolvers resolvers.ts.
 *
 * Rules the declarations cannot express, kept as they were in the hand-written API:
 * - A relation with a type of its own (the public `Driver` profile) exposes its one key column as
 *   `id` (Relay style), its other columns under their usual field names.
 * - A composite (`fare: Money`) is null when its `null_when` column or any of its columns is null,
 *   so its sub-fields are non-null.
 * - In a change type, each key column is a field named camelCase of the column (`tripId`); it is
 *   non-null when a required filter of the subscription gives it (`driverId`), else null on RESYNC.
 */
import {
  GraphQLBoolean, GraphQLEnumType, GraphQLFloat, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString,
  type GraphQLFieldConfig, type GraphQLFieldConfigMap, type GraphQLInputType, type GraphQLNamedType, type GraphQLOutputType,
} from 'graphql';
import { errors } from '../../errors';
import type { ColumnModel, ColumnType, Registry, Row, ViewGraphql, ViewModel } from '../../views/model';
import { ChangeKind } from '../changes';
import type { GraphQLContext } from '../context';
import { wavegateCost } from '../cost';
import { rowNoun } from './access';
import { changeKeyField, relationResolver, type Shape } from './resolvers';
import { DateScalar, DateTimeScalar, DecimalScalar, IdScalar } from './scalars';

type Field = GraphQLFieldConfig<unknown, GraphQLContext, Record<string, unknown>>;
type Relation = ViewGraphql['relations'][number];
type Composite = ViewGraphql['composites'][number];

/** Relay page info, shared by every connection. */
export const PageInfoType = new GraphQLObjectType({
  name: 'PageInfo',
  description: 'Relay page info. Cursors are opaque.',
  fields: {
    hasNextPage: { type: new GraphQLNonNull(GraphQLBoolean) },
    hasPreviousPage: { type: new GraphQLNonNull(GraphQLBoolean), description: 'True when the page was requested with an `after` cursor.' },
    startCursor: { type: GraphQLString },
    endCursor: { type: GraphQLString },
  },
});

/** What happened to a row, in every change type. */
export const ChangeKindType = new GraphQLEnumType({
  name: 'ChangeKind',
  description: 'What happened to a row. RESYNC: changes were dropped because the subscriber fell behind; re-query, live changes follow.',
  values: Object.fromEntries(Object.values(ChangeKind).map((k) => [k, { value: k }])),
});

const CURSOR_DESCRIPTION = 'Opaque resume point: pass it as `after` to a new subscription to get every later change.';

const BY_TYPE: Readonly<Record<ColumnType, GraphQLNamedType & GraphQLInputType & GraphQLOutputType>> = {
  text: GraphQLString,
  int: GraphQLInt,
  float: GraphQLFloat,
  numeric: DecimalScalar,
  timestamptz: DateTimeScalar,
  date: DateScalar,
  bool: GraphQLBoolean,
};

const BY_NAME: Readonly<Record<string, GraphQLNamedType & GraphQLInputType & GraphQLOutputType>> = {
  ID: IdScalar,
  String: GraphQLString,
  Int: GraphQLInt,
  Float: GraphQLFloat,
  Boolean: GraphQLBoolean,
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  Date: DateScalar,
};

const NAME_RE = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** PascalCase of a view name (`trip_history` → `TripHistory`), the default type name. */
export function pascalCase(name: string): string {
  return name.split(/_+/).filter(Boolean).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** The type name of a view's rows. */
export function typeNameOf(view: ViewModel): string {
  return view.graphql?.type ?? pascalCase(view.name);
}

/** Builds and holds the named types of one registry. */
export class TypeBuilder {
  private readonly named = new Map<string, GraphQLNamedType>([['PageInfo', PageInfoType], ['ChangeKind', ChangeKindType]]);
  private readonly objects = new Map<string, { type: GraphQLObjectType; shape: Shape }>();
  private readonly enumsByColumn = new Map<string, GraphQLEnumType>();
  private readonly views: ReadonlyMap<string, ViewModel>;

  constructor(private readonly registry: Registry) {
    this.views = new Map(registry.views.map((v) => [v.name, v]));
    for (const v of registry.views) {
      for (const e of v.graphql?.enums ?? []) {
        if (!e.values.every((x) => NAME_RE.test(x))) throw errors.badConfig(`${v.name}: enum ${e.type} has a value that is not a GraphQL name`);
        const existing = this.named.get(e.type);
        const type = existing instanceof GraphQLEnumType ? existing : new GraphQLEnumType({
          name: this.claim(e.type),
          ...(e.description !== undefined ? { description: e.description } : {}),
          values: Object.fromEntries(e.values.map((x) => [x, { value: x }])),
        });
        this.named.set(e.type, type);
        this.enumsByColumn.set(`${v.name}.${e.column}`, type);
      }
    }
  }

  /** Reserves a type name; BAD_CONFIG when two declarations want it. */
  private claim(name: string): string {
    if (!NAME_RE.test(name) || name.startsWith('__')) throw errors.badConfig(`"${name}" is not a GraphQL type name`);
    if (this.named.has(name) || Object.hasOwn(BY_NAME, name)) throw errors.badConfig(`GraphQL type ${name} is declared twice`);
    return name;
  }

  view(name: string): ViewModel {
    const v = this.views.get(name);
    if (v === undefined) throw errors.badConfig(`no view named ${name}`);
    return v;
  }

  /** The scalar or enum of a column (its enum, its graphql_type, else by its SQL type). */
  columnType(view: ViewModel, col: ColumnModel): GraphQLNamedType & GraphQLInputType & GraphQLOutputType {
    const en = this.enumsByColumn.get(`${view.name}.${col.name}`);
    if (en !== undefined) return en;
    if (col.graphqlType !== undefined) {
      const t = BY_NAME[col.graphqlType] ?? this.named.get(col.graphqlType);
      if (t instanceof GraphQLEnumType || (t !== undefined && Object.hasOwn(BY_NAME, col.graphqlType))) return t as GraphQLNamedType & GraphQLInputType & GraphQLOutputType;
      throw errors.badConfig(`${view.name}.${col.name}: graphql_type ${col.graphqlType} is neither a scalar nor a declared enum`);
    }
    return BY_TYPE[col.type];
  }

  /** True when some role of the GraphQL API sees the column as NULL (a `null` mask): its field must be nullable. */
  private maskedNull(view: ViewModel, col: string): boolean {
    return this.registry.roles.some((r) => r.graphql && view.permissions[r.name]?.masks[col]?.kind === 'null');
  }

  private columnField(view: ViewModel, col: ColumnModel): Field {
    const base = this.columnType(view, col);
    const name = col.name;
    return {
      type: col.nullable || this.maskedNull(view, name) ? base : new GraphQLNonNull(base),
      ...(col.description !== undefined ? { description: col.description } : {}),
      resolve: (row) => (row as Row)[name],
    };
  }

  /** The object type of a view's rows, with its shape (built once). */
  object(view: ViewModel): { type: GraphQLObjectType; shape: Shape } {
    const name = typeNameOf(view);
    const done = this.objects.get(name);
    if (done !== undefined) return done;
    const fieldColumns = new Map<string, readonly string[]>();
    const shape: Shape = { view, fieldColumns };
    const gql = view.graphql;
    for (const c of view.columns) if (c.field !== undefined) fieldColumns.set(c.field, [c.name]);
    for (const comp of gql?.composites ?? []) fieldColumns.set(comp.field, [...new Set([...Object.values(comp.fields), comp.nullWhen])]);
    for (const rel of gql?.relations ?? []) fieldColumns.set(rel.field, Object.keys(rel.on));
    const type = new GraphQLObjectType<unknown, GraphQLContext>({
      name: this.claim(name),
      description: gql?.description ?? view.description,
      fields: () => {
        const fields: GraphQLFieldConfigMap<unknown, GraphQLContext> = {};
        for (const c of view.columns) if (c.field !== undefined) fields[c.field] = this.columnField(view, c);
        for (const comp of gql?.composites ?? []) fields[comp.field] = this.compositeField(view, comp);
        for (const rel of gql?.relations ?? []) fields[rel.field] = this.relationField(rel);
        return fields;
      },
    });
    const built = { type, shape };
    this.objects.set(name, built);
    return built;
  }

  private compositeField(view: ViewModel, comp: Composite): Field {
    let type = this.named.get(comp.type);
    const entries = Object.entries(comp.fields);
    if (type === undefined) {
      type = new GraphQLObjectType({
        name: this.claim(comp.type),
        ...(comp.typeDescription !== undefined ? { description: comp.typeDescription } : {}),
        fields: Object.fromEntries(entries.map(([f, c]) => {
          const col = view.columns.find((x) => x.name === c);
          if (col === undefined) throw errors.badConfig(`${view.name}: composite ${comp.field} reads unknown column ${c}`);
          return [f, { type: new GraphQLNonNull(this.columnType(view, col)) }];
        })),
      });
      this.named.set(comp.type, type);
    }
    if (!(type instanceof GraphQLObjectType)) throw errors.badConfig(`${view.name}: composite type ${comp.type} is not an object type`);
    const declared = Object.keys(type.getFields()).sort().join(',');
    if (declared !== entries.map(([f]) => f).sort().join(',')) throw errors.badConfig(`${view.name}: composite ${comp.field} must have the fields of ${comp.type} (${declared})`);
    const subFields = entries.map(([f]) => f);
    const columns = entries.map(([, c]) => c);
    const nullWhen = comp.nullWhen;
    return {
      type,
      ...(comp.description !== undefined ? { description: comp.description } : {}),
      resolve: (src) => {
        const row = src as Row;
        if (row[nullWhen] === null || row[nullWhen] === undefined) return null;
        const out: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) {
          const v = row[columns[i]!];
          if (v === null || v === undefined) return null;
          out[subFields[i]!] = v;
        }
        return out;
      },
    };
  }

  /** The object type a relation returns: the other view's type, or a narrower one of its own. */
  private relationTarget(rel: Relation): { type: GraphQLObjectType; shape: Shape } {
    const other = this.view(rel.view);
    const main = typeNameOf(other);
    if (rel.type === undefined || rel.type === main) return this.object(other);
    const done = this.objects.get(rel.type);
    if (done !== undefined) return done;
    const wanted = new Set(rel.columns ?? other.columns.map((c) => c.name));
    const cols = other.columns.filter((c) => wanted.has(c.name) && (c.field !== undefined || other.key.includes(c.name)));
    const idColumn = other.key.length === 1 ? other.key[0] : undefined;
    const fieldColumns = new Map<string, readonly string[]>();
    const fields: GraphQLFieldConfigMap<unknown, GraphQLContext> = {};
    for (const c of cols) {
      const field = c.name === idColumn ? 'id' : c.field;
      if (field === undefined) continue;
      fieldColumns.set(field, [c.name]);
      fields[field] = this.columnField(other, c);
    }
    const built = {
      type: new GraphQLObjectType<unknown, GraphQLContext>({
        name: this.claim(rel.type),
        ...(rel.typeDescription !== undefined ? { description: rel.typeDescription } : {}),
        fields,
      }),
      shape: { view: other, fieldColumns },
    };
    this.objects.set(rel.type, built);
    return built;
  }

  private relationField(rel: Relation): Field {
    const target = this.relationTarget(rel);
    return {
      type: target.type,
      ...(rel.description !== undefined ? { description: rel.description } : {}),
      resolve: relationResolver(target.shape, rel),
      extensions: wavegateCost({ view: rel.view, kind: 'relation', maxRows: 1 }),
    };
  }

  /** `<Type>Connection` and `<Type>Edge` of a view's connection. */
  connection(view: ViewModel, order: ReadonlyArray<{ readonly column: string; readonly desc: boolean }>): GraphQLObjectType {
    const { type } = this.object(view);
    const noun = rowNoun(view);
    const fieldOf = (col: string) => view.columns.find((c) => c.name === col)?.field ?? col;
    const edge = new GraphQLObjectType({
      name: this.claim(`${type.name}Edge`),
      fields: {
        node: { type: new GraphQLNonNull(type) },
        cursor: { type: new GraphQLNonNull(GraphQLString), description: `Opaque; pass it as \`after\` to continue after this ${noun.one}.` },
      },
    });
    const sub = view.graphql?.subscription;
    const keyFields = view.key.map(changeKeyField).join(', ');
    return new GraphQLObjectType({
      name: this.claim(`${type.name}Connection`),
      description: `A page of ${noun.many}, ordered by ${order.map((o) => `${fieldOf(o.column)} ${o.desc ? 'descending' : 'ascending'}`).join(', then ')}.`,
      fields: {
        edges: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(edge))) },
        pageInfo: { type: new GraphQLNonNull(PageInfoType) },
        ...(sub !== undefined ? {
          feedCursor: {
            type: new GraphQLNonNull(GraphQLString),
            description: `Subscription cursor taken just before this page was read. Pass it as \`after\` to \`${sub.field}\` to get every change `
              + 'since: the page, then live changes, with no gap. Changes the page already reflects may come again: apply each change as an '
              + `upsert (or delete) by ${keyFields}, the last one per ${noun.one} wins (docs/SUBSCRIPTIONS.md, snapshot then live).`,
          },
        } : {}),
      },
    });
  }

  /** The change type of a view's subscription. */
  change(view: ViewModel, sub: NonNullable<ViewGraphql['subscription']>): GraphQLObjectType {
    const { type } = this.object(view);
    const noun = rowNoun(view);
    const required = new Set(sub.filters.filter((f) => sub.required.includes(f.arg)).map((f) => f.column));
    const fields: GraphQLFieldConfigMap<unknown, GraphQLContext> = {
      kind: { type: new GraphQLNonNull(ChangeKindType) },
      cursor: { type: new GraphQLNonNull(GraphQLString), description: CURSOR_DESCRIPTION },
    };
    for (const k of view.key) {
      const col = view.columns.find((c) => c.name === k)!;
      const t = this.columnType(view, col);
      fields[changeKeyField(k)] = required.has(k) ? { type: new GraphQLNonNull(t) } : { type: t, description: 'Null on RESYNC.' };
    }
    fields[sub.nodeField] = { type, description: `The ${noun.one} after the change; null on DELETE and RESYNC.` };
    const what = noun.one === noun.many ? noun.one : `one ${noun.one}`;
    return new GraphQLObjectType({ name: this.claim(sub.changeType), description: `A change to ${what}.`, fields });
  }
}
