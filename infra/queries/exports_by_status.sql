-- CleverTap exports by status: how many exports are in each status (an export's latest alert
-- decides), with the time of the latest alert. "at" is quoted: AT is a keyword in Trino.
SELECT
  status,
  COUNT(*) AS exports,
  MAX(latest_at) AS latest_at
FROM (
  SELECT
    export_request_id,
    status,
    "at" AS latest_at,
    ROW_NUMBER() OVER (PARTITION BY export_request_id ORDER BY "at" DESC, received_at DESC) AS newest
  FROM export_status
) AS alerts
WHERE newest = 1
GROUP BY status
ORDER BY status
