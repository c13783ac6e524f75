-- Trip durations: for each trip, from its start (started_at, else its first created_at) to its
-- last update, in seconds, from every message that mentioned it (trips holds one row per
-- message). Longest first.
SELECT
  trip_id,
  MAX(user_id) AS user_id,
  MAX(external_id) AS external_id,
  MIN(COALESCE(started_at, created_at)) AS started_at,
  MAX(COALESCE(updated_at, created_at)) AS last_update_at,
  date_diff('second', MIN(COALESCE(started_at, created_at)), MAX(COALESCE(updated_at, created_at))) AS duration_seconds,
  COUNT(*) AS updates
FROM trips
GROUP BY trip_id
ORDER BY duration_seconds DESC, trip_id
