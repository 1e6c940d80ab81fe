-- wavegate:view driver_earnings_daily
-- wavegate:key driver_id, day
-- Per driver per UTC day: rides completed, gross fares (payments captured that day), rating received.
-- The day is the UTC date of the event itself (a ride completed at 23:59 and paid at 00:01 counts
-- its trip on one day and its fare on the next, as a payout ledger would).
WITH base AS (
  SELECT
    a.payload->>'driver_id' AS driver_id,
    (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
    sum(CASE WHEN e.event_type = 'RideCompleted' THEN 1 ELSE 0 END) AS trips,
    sum(CASE WHEN e.event_type = 'PaymentCaptured' THEN (e.payload->>'amount')::numeric ELSE 0 END) AS gross_fares,
    sum(CASE WHEN e.event_type = 'TripRated' THEN (e.payload->>'rating')::numeric ELSE 0 END) AS rating_sum,
    sum(CASE WHEN e.event_type = 'TripRated' THEN 1 ELSE 0 END) AS ratings
  FROM outbox a
  JOIN outbox e ON e.aggregate_id = a.aggregate_id
  WHERE a.aggregate_type = 'Ride' AND a.event_type = 'DriverAssigned' AND e.aggregate_type = 'Ride'
    AND (e.event_type IN ('RideCompleted', 'PaymentCaptured')
         OR (e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider'))
  GROUP BY a.payload->>'driver_id', (e.occurred_at AT TIME ZONE 'UTC')::date
)
SELECT
  driver_id,
  day,
  trips,
  gross_fares,
  CASE WHEN ratings > 0 THEN round(rating_sum / ratings, 2) END AS avg_rating,
  ratings
FROM base
