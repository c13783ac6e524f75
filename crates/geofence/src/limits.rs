//! The geofence document's limits, in one place.

/// Largest document read (a file or an S3 object).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;
/// Most geofences in one document.
pub const MAX_GEOFENCES: usize = 100_000;
/// Most positions over all the document's rings.
pub const MAX_VERTICES: usize = 5_000_000;
/// Largest circle radius, metres (a circle is a place, not a region: use a polygon for those).
pub const MAX_RADIUS_M: f64 = 100_000.0;
/// Longest dwell time, seconds (30 days).
pub const MAX_DWELL_S: u32 = 30 * 24 * 3600;
/// Longest `id`, `tag`, `external_id` or `description`, bytes.
pub const MAX_TEXT_BYTES: usize = 1024;
/// Most problems listed for one refused document.
pub const MAX_PROBLEMS: usize = 100;
/// The mean Earth radius, metres (IUGG), which geo's Haversine uses too.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
