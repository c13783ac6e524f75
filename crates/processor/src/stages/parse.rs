//! Parse: each pending body read once into its typed webhook and normalised into rows and
//! geofence events. A body that does not parse never will.

use hookloop_domain::exports::ExportZone;
use hookloop_domain::{parse_webhook, Envelope, Normalized, Webhook};

use crate::failure::{Failure, Stage};
use crate::state::{Ready, State};

/// `zone`: where export alerts' `Date and Time` is read (`EXPORT_TIMEZONE`).
pub(crate) fn parse(states: Vec<State>, zone: &ExportZone) -> Vec<State> {
    states
        .into_iter()
        .map(|s| match s {
            State::Pending(e) => parse_one(e, zone),
            other => other,
        })
        .collect()
}

fn parse_one(mut envelope: Envelope, zone: &ExportZone) -> State {
    match parse_webhook(envelope.source(), envelope.body().as_bytes()) {
        Ok(webhook) => {
            let webhook = webhook.in_export_zone(zone);
            let normalized = Normalized::from_webhook(&webhook, &envelope);
            let raw = envelope.take_body().into_bytes();
            let export = match webhook {
                Webhook::ExportStatus(a) => Some(Box::new(a)),
                _ => None,
            };
            State::Ready(Ready {
                envelope,
                normalized,
                raw,
                export,
            })
        }
        Err(e) => State::Failed(Failure::permanent(
            Stage::Parse,
            "payload_invalid",
            e.to_string(),
        )),
    }
}
