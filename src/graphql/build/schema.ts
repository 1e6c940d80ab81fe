/**
 * The generated GraphQL schema of a registry: per view with a `graphql:` declaration, its lookup,
 * connection and list on Query and its subscription on Subscription, each carrying the cost
 * metadata the limits read (`extensions.wavegate`, cost.ts). Built once per registry.
 */
import {
  GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString,
  type GraphQLFieldConfigArgumentMap, type GraphQLFieldConfigMap,
} from 'graphql';
import type { Viewer } from '../../auth/viewer';
import { errors } from '../../errors';
import type { FilterModel, Registry, ViewModel } from '../../views/model';
import type { GraphQLContext } from '../context';
import { wavegateCost } from '../cost';
import { keysetColumns } from './keyset';
import { connectionResolver, connectionStatement, listResolver, lookupResolver, subscriptionSubscriber } from './resolvers';
import { MAX_SQL_LIMIT, type SqlStatement } from './statements';
import { TypeBuilder } from './types';

type Fields = GraphQLFieldConfigMap<unknown, GraphQLContext>;

function filterArgs(types: TypeBuilder, view: ViewModel, filters: readonly FilterModel[], required: readonly string[]): GraphQLFieldConfigArgumentMap {
  const args: GraphQLFieldConfigArgumentMap = {};
  for (const f of filters) {
    const col = view.columns.find((c) => c.name === f.column);
    if (col === undefined) throw errors.badConfig(`${view.name}: filter ${f.arg} reads unknown column ${f.column}`);
    const t = types.columnType(view, col);
    args[f.arg] = { type: required.includes(f.arg) ? new GraphQLNonNull(t) : t, ...(f.description !== undefined ? { description: f.description } : {}) };
  }
  return args;
}

function addField(into: Fields, name: string, field: Fields[string], view: ViewModel): void {
  if (Object.hasOwn(into, name)) throw errors.badConfig(`${view.name}: root field ${name} is declared twice`);
  into[name] = field;
}

function viewFields(types: TypeBuilder, view: ViewModel, query: Fields, subscription: Fields): void {
  const gql = view.graphql;
  if (gql === undefined) return;
  const { type, shape } = types.object(view);
  if (gql.lookup !== undefined) {
    const l = gql.lookup;
    const args: GraphQLFieldConfigArgumentMap = {};
    for (const [arg, column] of Object.entries(l.args)) {
      const col = view.columns.find((c) => c.name === column);
      if (col === undefined) throw errors.badConfig(`${view.name}: lookup argument ${arg} reads unknown column ${column}`);
      args[arg] = { type: new GraphQLNonNull(types.columnType(view, col)) };
    }
    if ([...view.key].sort().join(',') !== Object.values(l.args).sort().join(',')) {
      throw errors.badConfig(`${view.name}: lookup ${l.field} must have one argument per key column (${view.key.join(', ')})`);
    }
    addField(query, l.field, {
      type,
      args,
      ...(l.description !== undefined ? { description: l.description } : {}),
      resolve: lookupResolver(shape, l),
      extensions: wavegateCost({ view: view.name, kind: 'lookup', maxRows: 1 }),
    }, view);
  }
  if (gql.connection !== undefined) {
    const c = gql.connection;
    if (c.maxFirst + 1 > MAX_SQL_LIMIT || c.defaultFirst < 1 || c.defaultFirst > c.maxFirst) {
      throw errors.badConfig(`${view.name}: connection ${c.field} needs 1 <= default_first <= max_first < ${MAX_SQL_LIMIT}`);
    }
    const order = keysetColumns(view, c.ordering);
    addField(query, c.field, {
      type: new GraphQLNonNull(types.connection(view, c.ordering.columns)),
      args: {
        ...filterArgs(types, view, c.filters, []),
        first: { type: GraphQLInt, defaultValue: c.defaultFirst, description: `Page size, 1 to ${c.maxFirst} (null means the default).` },
        after: { type: GraphQLString, description: 'An endCursor (or edge cursor) of a previous page.' },
      },
      ...(c.description !== undefined ? { description: c.description } : {}),
      resolve: connectionResolver(shape, c, order),
      extensions: wavegateCost({ view: view.name, kind: 'connection', page: { arg: 'first', default: c.defaultFirst, max: c.maxFirst }, maxRows: c.maxFirst }),
    }, view);
  }
  if (gql.list !== undefined) {
    const l = gql.list;
    if (l.max < 1 || l.max > MAX_SQL_LIMIT) throw errors.badConfig(`${view.name}: list ${l.field} needs 1 <= max <= ${MAX_SQL_LIMIT}`);
    addField(query, l.field, {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type))),
      args: filterArgs(types, view, l.filters, l.required),
      ...(l.description !== undefined ? { description: l.description } : {}),
      resolve: listResolver(shape, l, keysetColumns(view, l.ordering)),
      extensions: wavegateCost({ view: view.name, kind: 'list', maxRows: l.max }),
    }, view);
  }
  if (gql.subscription !== undefined) {
    const s = gql.subscription;
    if (s.filters.some((f) => f.op !== 'eq')) throw errors.badConfig(`${view.name}: subscription filters are equality filters`);
    const feedCursorOf = gql.connection !== undefined ? `, or the \`feedCursor\` of a \`${gql.connection.field}\` page` : '';
    addField(subscription, s.field, {
      type: new GraphQLNonNull(types.change(view, s)),
      args: {
        ...filterArgs(types, view, s.filters, s.required),
        after: {
          type: GraphQLString,
          description: `Resume after this cursor (from a previous change${feedCursorOf}): missed changes first, then live ones.`,
        },
      },
      ...(s.description !== undefined ? { description: s.description } : {}),
      subscribe: subscriptionSubscriber(shape, s),
      resolve: (payload: unknown) => payload,
      extensions: wavegateCost({ view: view.name, kind: 'subscription', maxRows: 1 }),
    }, view);
  }
}

/** Builds the schema of `registry` (BAD_CONFIG when its declarations cannot make one). */
export function buildGraphqlSchema(registry: Registry): GraphQLSchema {
  const types = new TypeBuilder(registry);
  const query: Fields = {};
  const subscription: Fields = {};
  for (const view of registry.views) viewFields(types, view, query, subscription);
  if (Object.keys(query).length === 0) throw errors.badConfig('No view declares a GraphQL query (lookup, connection or list): the API would be empty');
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: query }),
    ...(Object.keys(subscription).length > 0 ? { subscription: new GraphQLObjectType({ name: 'Subscription', fields: subscription }) } : {}),
  });
}

/** The statement `trips(<args>) { edges { node { <nodeFields> } } }` sends for `viewer` (benchmarks compare the same SQL). */
export function connectionStatementOf(registry: Registry, viewName: string, viewer: Viewer, args: Readonly<Record<string, unknown>>,
  nodeFields: readonly string[]): SqlStatement {
  const types = new TypeBuilder(registry);
  const view = types.view(viewName);
  const conn = view.graphql?.connection;
  if (conn === undefined) throw errors.badConfig(`${viewName} has no connection`);
  return connectionStatement(types.object(view).shape, conn, keysetColumns(view, conn.ordering), viewer, registry, args, nodeFields);
}

const schemas = new WeakMap<Registry, GraphQLSchema>();

/** The schema of `registry`, built on first use and then shared. */
export function schemaOf(registry: Registry): GraphQLSchema {
  let schema = schemas.get(registry);
  if (schema === undefined) schemas.set(registry, (schema = buildGraphqlSchema(registry)));
  return schema;
}
