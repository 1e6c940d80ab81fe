import { types } from '@electric-sql/pglite';

/**
 * Type parsers of every PGlite instance Wavegate opens (the engine's and the passthrough worker's
 * read copy): timestamps and dates stay raw text, which normalizeRow (and the passthrough's
 * values.ts) turn into canonical strings. Both instances must parse alike, so results look the
 * same whichever of them answered.
 */
export const PGLITE_PARSERS = {
  [types.TIMESTAMPTZ]: (v: string) => v,
  [types.TIMESTAMP]: (v: string) => v,
  [types.DATE]: (v: string) => v,
};
