/**
 * The generated API must not break clients: against the committed schema/schema.graphql (what
 * clients were given) and the last hand-written API (test/fixtures/graphql/schema-type-graphql.graphql,
 * the type-graphql classes the generator replaced), no type, field, argument or enum value may
 * change or disappear (graphql-js findBreakingChanges). New fields are fine; schema/schema.graphql is
 * then regenerated (graphql-schema.test.ts checks it is current).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, findBreakingChanges, findDangerousChanges, lexicographicSortSchema, printSchema } from 'graphql';
import { getSchema } from '../../src/graphql/executableSchema';
import { projectRoot } from '../../src/paths';

const generated = getSchema();

describe.each([
  ['schema/schema.graphql'],
  ['test/fixtures/graphql/schema-type-graphql.graphql'],
])('the generated schema against %s', (file) => {
  const committed = buildSchema(readFileSync(join(projectRoot(), file), 'utf8'));

  it('has no breaking change', () => {
    expect(findBreakingChanges(committed, generated).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });

  it('has no dangerous change (changed defaults, new enum values, new optional arguments are flagged)', () => {
    expect(findDangerousChanges(committed, generated).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });
});

describe('the compatibility check itself', () => {
  it('notices a removed field, a field turned nullable and a new required argument', () => {
    const base = buildSchema(printSchema(lexicographicSortSchema(generated)));
    const changed = buildSchema(printSchema(lexicographicSortSchema(generated))
      .replace(/\n  status: TripStatus!\n/, '\n  status: TripStatus\n')
      .replace(/\n  cancelledBy: String\n/, '\n')
      .replace('driverStats(driverId: ID!)', 'driverStats(driverId: ID!, day: Date!)'));
    expect(findBreakingChanges(base, changed).map((c) => c.type).sort()).toEqual(['FIELD_CHANGED_KIND', 'FIELD_REMOVED', 'REQUIRED_ARG_ADDED']);
  });
});
