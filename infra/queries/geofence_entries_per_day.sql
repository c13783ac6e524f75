-- Geofence entries per day and geofence: how many times users entered each geofence, and how
-- many distinct users, by the UTC day of the event (created_at), newest day first.
-- Runs on Athena (Trino) and DuckDB alike: the tables are the curated Glue tables.
SELECT
  CAST(created_at AS DATE) AS day,
  geofence_id,
  MAX(geofence_external_id) AS geofence_external_id,
  MAX(geofence_tag) AS geofence_tag,
  COUNT(*) AS entries,
  COUNT(DISTINCT user_id) AS users
FROM location_events
WHERE event_type = 'user.entered_geofence'
GROUP BY CAST(created_at AS DATE), geofence_id
ORDER BY day DESC, entries DESC, geofence_id
