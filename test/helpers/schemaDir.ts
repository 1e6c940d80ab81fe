import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledSchemaDir } from '../../src/views/load';

/** A copy of the bundled schema directory in a temp folder with `files` added (or replaced); `remove()` deletes it. */
export function schemaDirWith(files: Readonly<Record<string, string>>, name = 'wt-views-core'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  cpSync(bundledSchemaDir(), dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fifth view over the outbox: per driver, ratings received (pg_ivm can maintain it; RisingWave too). */
export const DRIVER_RATINGS = {
  'driver_ratings.sql': `-- Ratings riders gave each driver.
WITH base AS (
  SELECT a.payload->>'driver_id' AS driver_id,
    sum(CASE WHEN e.event_type = 'TripRated' THEN 1 ELSE 0 END) AS ratings,
    sum(CASE WHEN e.event_type = 'TripRated' THEN (e.payload->>'rating')::numeric ELSE 0 END) AS rating_sum
  FROM outbox a
  JOIN outbox e ON e.aggregate_id = a.aggregate_id
  WHERE a.aggregate_type = 'Ride' AND a.event_type = 'DriverAssigned' AND e.aggregate_type = 'Ride'
  GROUP BY a.payload->>'driver_id'
)
SELECT driver_id, ratings, ratings > 0 AS rated FROM base
`,
  'driver_ratings.yaml': `view: driver_ratings
description: Ratings riders gave each driver.
key: [driver_id]
columns:
  driver_id: { type: text, nullable: false, graphql_type: ID }
  ratings: { type: int, nullable: false }
  rated: { type: bool, nullable: false }
graphql:
  lookup: { field: driverRatings }
  subscription:
    field: driverRatingsUpdated
    filters: { driverId: { column: driver_id } }
permissions:
  driver: { rows: { driver_id: { eq: sub } } }
  ops: { rows: all }
`,
};
