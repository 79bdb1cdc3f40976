//! Fakes of Entra ID and Azure services for sentinel-mcp's tests. Each fake is a real HTTP server
//! on 127.0.0.1 that speaks the service's wire format (paths, status codes, headers, JSON shapes),
//! so the server's real client code is what the tests exercise.

/// Fake Microsoft Entra ID: OpenID metadata, JWKS with key rotation, v1/v2 access-token minting
/// and JWT attack helpers.
pub mod entra;

/// Fake Azure services (identity endpoints, Log Analytics, Graph security, Sentinel ARM).
pub mod azure;

/// Telemetry receivers: OTLP/HTTP traces and Application Insights ingestion.
pub mod telemetry;
