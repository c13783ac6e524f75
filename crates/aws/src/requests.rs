//! Counts every request the SDK clients transmit (each attempt: retries are billed too) in a
//! [`Registry`], by service and operation.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use hookloop_runtime::metrics::Registry;

/// The SDK interceptor; `service` names the client it is attached to, `registry` is where it
/// counts.
#[derive(Debug, Clone)]
pub struct CountRequests {
    pub service: &'static str,
    pub registry: Registry,
}

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name())
            .unwrap_or("unknown");
        self.registry.record(self.service, operation);
        Ok(())
    }
}
