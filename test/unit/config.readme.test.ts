import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, validate } from 'graphql';
import { ENV_VARS } from '../../src/config/load';
import { getSchema } from '../../src/graphql/executableSchema';

/** The README row for one variable: the table is ENV_VARS printed as markdown, nothing added by hand. */
const row = (v: (typeof ENV_VARS)[number]) => `| \`${v.name}\` | ${v.default} | ${v.description} |`;

const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');

describe('README environment table', () => {
  const tableRows = readme.split('\n').filter((l) => /^\| `WAVEGATE_[A-Z_]+` \|/.test(l));

  it('has the row of every variable in ENV_VARS, in order, exactly as generated', () => {
    // On failure, paste the expected table into README.md.
    const expected = ['| Variable | Default | Meaning |', '|---|---|---|', ...ENV_VARS.map(row)].join('\n');
    expect(tableRows.join('\n')).toBe(ENV_VARS.map(row).join('\n'));
    expect(readme).toContain(expected);
  });

  it('documents no variable that Wavegate does not read (WAVEGATE_TEST_* belong to the tests)', () => {
    const known = new Set(ENV_VARS.map((v) => v.name));
    const mentioned = new Set((readme.match(/\bWAVEGATE_[A-Z_]+\b/g) ?? []).filter((n) => !n.startsWith('WAVEGATE_TEST_')));
    expect([...mentioned].filter((name) => !known.has(name))).toEqual([]);
  });
});

describe('README GraphQL examples', () => {
  const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('are valid operations against the schema the gateway serves', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      expect(validate(getSchema(), parse(block)).map((e) => e.message)).toEqual([]);
    }
  });
});
