//! The geofence document (`GEOFENCES`): a file locally, an S3 object in a stack, checked for a
//! change at most every 60 s ([`hookloop_runtime::live::Live`], as the load-back document is).
//! An S3 check is one conditional GET (answered 304 when nothing changed); a file check reads
//! its size and modification time. A document that does not parse is refused whole: the last
//! good one stays in force and an error line lists the problems, each with its JSON pointer, at
//! every check until a good one replaces it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use hookloop_aws::s3::{Changed, RawArchive};
use hookloop_geofence::{parse_geofences, GeofenceIndex};
use hookloop_runtime::live::{Reload, Reloaded};
use tracing::{error, info, warn};

use super::Fences;

/// Longest a read and parse of the document may hold up the batch that runs it (up to 64 MiB
/// from S3): longer than other configuration's 1 s.
pub const RELOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where the document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeofenceSource {
    File(PathBuf),
    S3 { bucket: String, key: String },
}

impl std::fmt::Display for GeofenceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeofenceSource::File(p) => write!(f, "{}", p.display()),
            GeofenceSource::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// What the reload remembers between checks.
#[derive(Default)]
struct Seen {
    /// The S3 ETag, or the file's size and modification time, of the latest document read.
    version: Option<String>,
    /// Whether a document is in force.
    good: bool,
    /// Why the latest document is refused, said again at every check.
    refused: Option<String>,
}

enum Read {
    Same,
    Gone,
    New(Vec<u8>, Option<String>),
    /// Refused before it was read (too large).
    Refused(String, Option<String>),
}

struct Source {
    from: GeofenceSource,
    objects: Option<RawArchive>,
    seen: Mutex<Seen>,
}

/// The reload of the geofences from `from`; `objects` reads `s3://` documents (its bucket is
/// replaced by the URI's).
pub fn reload(from: GeofenceSource, objects: Option<RawArchive>) -> Reload<Fences> {
    let source = Arc::new(Source {
        from,
        objects,
        seen: Mutex::new(Seen::default()),
    });
    Box::new(move || {
        let source = source.clone();
        Box::pin(async move { source.reload().await })
    })
}

impl Source {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn reload(&self) -> Reloaded<Fences> {
        let known = self.seen().version.clone();
        let read = match self.read(known.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, document = %self.from, "could not read the geofence document; trying again soon");
                return Reloaded::Retry;
            }
        };
        let mut seen = self.seen();
        match read {
            Read::Same => {
                if let Some(why) = &seen.refused {
                    error!(document = %self.from, problems = %why, "the geofence document is refused; the last good one stays in force");
                }
                Reloaded::Keep
            }
            Read::Gone => {
                let was = seen.version.take().is_some() || seen.good;
                *seen = Seen::default();
                if was {
                    info!(document = %self.from, "no geofence document: server-side geofencing is off");
                }
                Reloaded::Replace(Fences::Off)
            }
            Read::Refused(why, version) => {
                seen.version = version;
                self.refuse(&mut seen, why)
            }
            Read::New(body, version) => {
                seen.version = version;
                match parse_geofences(&body) {
                    Ok(fences) => {
                        let index = GeofenceIndex::new(fences);
                        info!(document = %self.from, geofences = index.len(), "geofence document in force");
                        seen.good = true;
                        seen.refused = None;
                        Reloaded::Replace(Fences::On(index))
                    }
                    Err(problems) => self.refuse(&mut seen, problems.to_string()),
                }
            }
        }
    }

    /// A refused document: the last good one stays in force. With none read yet, geofencing is
    /// unknown and points wait (redelivery, then the DLQ with code `GeofencesUnknown`) rather
    /// than go untested while other containers may test them.
    fn refuse(&self, seen: &mut Seen, why: String) -> Reloaded<Fences> {
        error!(document = %self.from, problems = %why, "the geofence document is refused; the last good one stays in force");
        seen.refused = Some(why);
        if seen.good {
            Reloaded::Keep
        } else {
            Reloaded::Replace(Fences::Unknown)
        }
    }

    async fn read(&self, known: Option<&str>) -> Result<Read, String> {
        match (&self.from, &self.objects) {
            (GeofenceSource::S3 { key, .. }, Some(objects)) => {
                match objects.get_if_changed(key, known).await {
                    Ok(Changed::Same) => Ok(Read::Same),
                    Ok(Changed::New { body, etag }) => Ok(Read::New(body, etag)),
                    Ok(Changed::Gone) => Ok(Read::Gone),
                    // S3 answers 403, not 404, for a missing key to a caller without
                    // s3:ListBucket, which the processor's role does not have.
                    Err(e) if e.code == "AccessDenied" => {
                        warn!(document = %self.from, "the geofence document is missing or not readable (AccessDenied): geofencing is off");
                        Ok(Read::Gone)
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            (GeofenceSource::S3 { .. }, None) => Err("no S3 client".into()),
            (GeofenceSource::File(path), _) => {
                let meta = match tokio::fs::metadata(path).await {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::Gone),
                    Err(e) => return Err(e.to_string()),
                };
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                let version = format!("{}:{modified}", meta.len());
                if known == Some(version.as_str()) {
                    return Ok(Read::Same);
                }
                let limit = hookloop_geofence::limits::MAX_DOCUMENT_BYTES as u64;
                if meta.len() > limit {
                    return Ok(Read::Refused(
                        format!("larger than {limit} bytes"),
                        Some(version),
                    ));
                }
                match tokio::fs::read(path).await {
                    Ok(body) => Ok(Read::New(body, Some(version))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Read::Gone),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"id":"c1","radius_m":100},"geometry":{"type":"Point","coordinates":[0,0]}}]}"#;
    const TWO: &str = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"id":"c1","radius_m":100},"geometry":{"type":"Point","coordinates":[0,0]}},
        {"type":"Feature","properties":{"id":"c2","radius_m":100},"geometry":{"type":"Point","coordinates":[1,1]}}]}"#;

    fn count(r: &Reloaded<Fences>) -> Option<usize> {
        match r {
            Reloaded::Replace(Fences::On(i)) => Some(i.len()),
            Reloaded::Replace(Fences::Off) => Some(0),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_file_is_read_when_it_changes_and_a_bad_one_keeps_the_last_good() {
        let dir = std::env::temp_dir().join(format!("hookloop-geofences-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("geofences.geojson");
        let _ = std::fs::remove_file(&path);
        let source = Source {
            from: GeofenceSource::File(path.clone()),
            objects: None,
            seen: Mutex::default(),
        };
        assert_eq!(count(&source.reload().await), Some(0), "no file: off");
        std::fs::write(&path, r#"{"type":"FeatureCollection"}"#).unwrap();
        assert!(
            matches!(source.reload().await, Reloaded::Replace(Fences::Unknown)),
            "refused with nothing good before: points wait"
        );
        std::fs::write(&path, ONE).unwrap();
        assert_eq!(count(&source.reload().await), Some(1));
        assert!(matches!(source.reload().await, Reloaded::Keep), "unchanged");
        std::fs::write(
            &path,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature"}]}"#,
        )
        .unwrap();
        assert!(
            matches!(source.reload().await, Reloaded::Keep),
            "refused: the last good stays"
        );
        assert!(source
            .seen()
            .refused
            .as_deref()
            .unwrap()
            .contains("/features/0"));
        std::fs::write(&path, TWO).unwrap();
        assert_eq!(count(&source.reload().await), Some(2));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(count(&source.reload().await), Some(0), "removed: off");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
