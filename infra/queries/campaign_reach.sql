-- Campaign reach per campaign: distinct profiles a CleverTap campaign or journey (targetId)
-- reached, the webhooks it took, and the first and last time one arrived.
SELECT
  target_id,
  COUNT(DISTINCT profile_key) AS profiles,
  COUNT(DISTINCT message_id) AS webhooks,
  SUM(occurrences) AS occurrences,
  MIN(received_at) AS first_received_at,
  MAX(received_at) AS last_received_at
FROM clevertap_profiles
GROUP BY target_id
ORDER BY profiles DESC, target_id
