-- wavegate:view rider_stats
-- wavegate:key rider_id
-- Per rider: trips requested, completed, cancelled, money spent (captured payments), ratings given.
-- Every ride event is joined to its ride's RideRequested event (the only one naming the rider), so
-- events need not repeat the rider id. Averages are computed in the projection from sums and counts
-- (pg_ivm maintains sums/counts; it rejects expressions over aggregates).
WITH base AS (
  SELECT
    r.payload->>'rider_id' AS rider_id,
    sum(CASE WHEN e.event_type = 'RideRequested' THEN 1 ELSE 0 END) AS trips,
    sum(CASE WHEN e.event_type = 'RideCompleted' THEN 1 ELSE 0 END) AS completed_trips,
    sum(CASE WHEN e.event_type = 'RideCancelled' THEN 1 ELSE 0 END) AS cancelled_trips,
    sum(CASE WHEN e.event_type = 'PaymentCaptured' THEN (e.payload->>'amount')::numeric ELSE 0 END) AS total_spent,
    sum(CASE WHEN e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider' THEN (e.payload->>'rating')::numeric ELSE 0 END) AS rating_sum,
    sum(CASE WHEN e.event_type = 'TripRated' AND e.payload->>'rated_by' = 'rider' THEN 1 ELSE 0 END) AS ratings_given,
    max(e.occurred_at) AS updated_at
  FROM outbox r
  JOIN outbox e ON e.aggregate_id = r.aggregate_id
  WHERE r.aggregate_type = 'Ride' AND r.event_type = 'RideRequested' AND e.aggregate_type = 'Ride'
  GROUP BY r.payload->>'rider_id'
)
SELECT
  rider_id,
  trips,
  completed_trips,
  cancelled_trips,
  total_spent,
  CASE WHEN ratings_given > 0 THEN round(rating_sum / ratings_given, 2) END AS avg_rating_given,
  ratings_given,
  updated_at
FROM base
