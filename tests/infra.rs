//! The deployment template keeps its promises, read from infra/template.yaml so an edit cannot
//! silently drop one: least-privilege IAM, encryption, a TLS-only private bucket, the redrive and
//! visibility-timeout rules, partial batch responses, the webhook URLs (security, pipeline);
//! alarms that notify the stack's topic and name the command that investigates them (monitoring),
//! a dashboard on the metric contract (dashboard); the Athena table over the raw archive
//! (athena); the hourly compactor (compactor), the curated tables' Glue tables and the named
//! queries (curated); the optional OpenTelemetry collector layer (tracing). Then the tools:
//! `sam validate --lint`, `cfn-lint`, and `sam build` producing three arm64 `bootstrap`s.

#[path = "infra/athena.rs"]
mod athena;
#[path = "infra/compactor.rs"]
mod compactor;
#[path = "infra/curated.rs"]
mod curated;
#[path = "infra/dashboard.rs"]
mod dashboard;
#[path = "infra/monitoring.rs"]
mod monitoring;
#[path = "infra/pipeline.rs"]
mod pipeline;
#[path = "infra/projection.rs"]
mod projection;
#[path = "infra/security.rs"]
mod security;
#[path = "infra/template.rs"]
mod template;
#[path = "infra/tools.rs"]
mod tools;
#[path = "infra/tracing.rs"]
mod tracing;
