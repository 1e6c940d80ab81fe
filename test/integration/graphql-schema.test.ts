/**
 * The committed schema/schema.graphql must be what the code serves, so API changes show up in
 * review. This test never rewrites the file: regenerate it and commit the diff.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printSchemaSdl } from '../../src/graphql/executableSchema';
import { projectRoot } from '../../src/paths';

describe('schema/schema.graphql', () => {
  it('matches the schema built from the code', async () => {
    const committed = readFileSync(join(projectRoot(), 'schema/schema.graphql'), 'utf8');
    const current = await printSchemaSdl();
    if (committed !== current) {
      throw new Error('schema/schema.graphql is out of date with src/graphql/schema.\n' +
        'Regenerate it with `npm run print-schema > schema/schema.graphql`, review the diff, and commit it.');
    }
  });
});
