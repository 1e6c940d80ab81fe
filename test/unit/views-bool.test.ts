import { decodeChange, PoisonMessageError, PoisonReason } from '../../src/engine/risingwave/feed/decode';
import { loadRegistry } from '../../src/views/load';
import { normalizeValue } from '../../src/views/normalize';
import { DRIVER_RATINGS, schemaDirWith } from '../helpers/schemaDir';

/** `bool` columns: the seventh column type, normalised from SQL text and decoded from sink JSON. */
describe('bool columns', () => {
  const schema = schemaDirWith(DRIVER_RATINGS);
  const views = loadRegistry(schema.dir);
  afterAll(() => schema.remove());

  test('normalise from JS booleans and Postgres text, nothing else', () => {
    expect([true, false, 't', 'f', 'true', 'false'].map((v) => normalizeValue('bool', v))).toEqual([true, false, true, false, true, false]);
    expect(normalizeValue('bool', null)).toBeNull();
    expect(() => normalizeValue('bool', 'yes')).toThrow('not a boolean: yes');
    expect(() => normalizeValue('bool', 1)).toThrow('not a boolean: 1');
  });

  test('decode from the upsert sink\'s JSON true/false; a string is poison', () => {
    const msg = (rated: unknown) => ({
      key: Buffer.from(JSON.stringify({ driver_id: 'd-1' })),
      value: Buffer.from(JSON.stringify({ driver_id: 'd-1', ratings: 2, rated })),
    });
    expect(decodeChange('driver_ratings', 'upsert', msg(true), views)).toMatchObject({ row: { driver_id: 'd-1', ratings: 2, rated: true } });
    expect(decodeChange('driver_ratings', 'upsert', msg(false), views)?.row?.['rated']).toBe(false);
    let err: unknown;
    try {
      decodeChange('driver_ratings', 'upsert', msg('true'), views);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PoisonMessageError);
    expect(err).toMatchObject({ reason: PoisonReason.BAD_TYPE });
    // The bundled registry has no such view: the same record is poison there.
    expect(() => decodeChange('driver_ratings', 'upsert', msg(true))).toThrow(/no published view named "driver_ratings"/);
  });
});
