//! The documented schemas of the Microsoft Sentinel and Defender XDR tables: every column of each
//! table, in Microsoft's order, with its documented type. Kept as data, one `<Table>.schema` file
//! per table in this folder (a `#` line is a comment naming the source; every other line is
//! `ColumnName type`). The demo workspace builds its tables from them, and the file loader types
//! the columns of a user's exports with them.

use std::sync::LazyLock;

use crate::value::ScalarType;
use crate::value::table::Column;

/// One table's documented columns.
#[derive(Debug)]
pub struct TableSchema {
    /// The table's name, as queries spell it.
    pub name: &'static str,
    /// Every column, in the documented order.
    pub columns: Vec<(&'static str, ScalarType)>,
}

impl TableSchema {
    /// The type of a column, when the table has it.
    pub fn column_type(&self, column: &str) -> Option<ScalarType> {
        self.columns
            .iter()
            .find(|(name, _)| *name == column)
            .map(|&(_, ty)| ty)
    }

    /// The columns as the engine's [`Column`]s.
    pub fn engine_columns(&self) -> Vec<Column> {
        self.columns
            .iter()
            .map(|&(name, ty)| Column::new(name, ty))
            .collect()
    }
}

/// The schema files, embedded at build time.
macro_rules! schema_files {
    ($($name:literal),* $(,)?) => {
        const FILES: &[(&str, &str)] = &[$(($name, include_str!(concat!($name, ".schema")))),*];
    };
}

schema_files![
    "AADManagedIdentitySignInLogs",
    "AADNonInteractiveUserSignInLogs",
    "AADRiskyUsers",
    "AADServicePrincipalSignInLogs",
    "AADSignInEventsBeta",
    "AADSpnSignInEventsBeta",
    "AADUserRiskEvents",
    "AlertEvidence",
    "AlertInfo",
    "AuditLogs",
    "AzureActivity",
    "AzureDiagnostics",
    "BehaviorAnalytics",
    "CloudAppEvents",
    "CommonSecurityLog",
    "DeviceEvents",
    "DeviceFileEvents",
    "DeviceImageLoadEvents",
    "DeviceInfo",
    "DeviceLogonEvents",
    "DeviceNetworkEvents",
    "DeviceNetworkInfo",
    "DeviceProcessEvents",
    "DeviceRegistryEvents",
    "DeviceTvmBrowserExtensions",
    "DeviceTvmInfoGathering",
    "DeviceTvmSecureConfigurationAssessment",
    "DeviceTvmSecureConfigurationAssessmentKB",
    "DeviceTvmSoftwareInventory",
    "DeviceTvmSoftwareVulnerabilities",
    "DeviceTvmSoftwareVulnerabilitiesKB",
    "DnsEvents",
    "EmailAttachmentInfo",
    "EmailEvents",
    "EmailPostDeliveryEvents",
    "EmailUrlInfo",
    "Event",
    "ExposureGraphEdges",
    "GraphAPIAuditEvents",
    "Heartbeat",
    "IdentityDirectoryEvents",
    "IdentityInfo",
    "IdentityLogonEvents",
    "IdentityQueryEvents",
    "IntuneDevices",
    "LAQueryLogs",
    "MicrosoftGraphActivityLogs",
    "OAuthAppInfo",
    "OfficeActivity",
    "SecurityAlert",
    "SecurityEvent",
    "SecurityIncident",
    "SigninLogs",
    "ThreatIntelligenceIndicator",
    "UrlClickEvents",
    "Usage",
];

/// A schema file that does not read as `ColumnName type` lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}.schema, line {line}: {problem}")]
pub struct SchemaFileError {
    pub file: &'static str,
    pub line: usize,
    pub problem: String,
}

/// Reads one schema file.
fn parse(name: &'static str, text: &'static str) -> Result<TableSchema, SchemaFileError> {
    let mut columns: Vec<(&'static str, ScalarType)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |problem: String| SchemaFileError {
            file: name,
            line: i + 1,
            problem,
        };
        let mut words = line.split_whitespace();
        let (Some(column), Some(ty), None) = (words.next(), words.next(), words.next()) else {
            return Err(error(format!("'{line}' is not 'ColumnName type'")));
        };
        let ty = ScalarType::from_name(ty).ok_or_else(|| error(format!("unknown type '{ty}'")))?;
        if columns.iter().any(|(c, _)| *c == column) {
            return Err(error(format!("column '{column}' appears twice")));
        }
        columns.push((column, ty));
    }
    Ok(TableSchema { name, columns })
}

static SCHEMAS: LazyLock<Vec<TableSchema>> = LazyLock::new(|| {
    // Every file parses (a test holds each to it), so none is dropped here.
    FILES
        .iter()
        .filter_map(|&(name, text)| parse(name, text).ok())
        .collect()
});

/// Every documented table, sorted by name.
pub fn tables() -> &'static [TableSchema] {
    &SCHEMAS
}

/// A table's documented schema, by exact name.
pub fn table(name: &str) -> Option<&'static TableSchema> {
    SCHEMAS.iter().find(|t| t.name == name)
}

/// The documented type of a table's column, when both are known.
pub fn column_type(table_name: &str, column: &str) -> Option<ScalarType> {
    table(table_name)?.column_type(column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ScalarType::{
        Bool as B, DateTime as D, Dynamic as J, Guid as G, Int as I, Long as L, Real as R,
        String as S,
    };

    #[test]
    fn every_schema_file_parses_and_every_file_in_the_folder_is_listed() {
        for &(name, text) in FILES {
            let schema = parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!schema.columns.is_empty(), "{name} has no columns");
        }
        assert_eq!(tables().len(), FILES.len());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/catalog/schemas");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("the schemas folder")
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".schema").map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            on_disk, listed,
            "schema files and the list in mod.rs differ"
        );
    }

    #[test]
    fn a_malformed_schema_file_is_refused_with_its_line() {
        let e = parse("T", "# a comment\nA string\nB numberish\n").expect_err("unknown type");
        assert_eq!(
            (e.line, e.problem.as_str()),
            (3, "unknown type 'numberish'")
        );
        let e = parse("T", "A string\nA long\n").expect_err("duplicate");
        assert_eq!(e.line, 2);
        let e = parse("T", "A string extra\n").expect_err("three words");
        assert!(e.to_string().starts_with("T.schema, line 1:"), "{e}");
    }

    /// For each table: its number of columns, its first and last column, and columns with the
    /// types Microsoft documents for them.
    #[allow(clippy::type_complexity)]
    const FACTS: &[(&str, usize, &str, &str, &[(&str, ScalarType)])] = &[
        (
            "AADManagedIdentitySignInLogs",
            35,
            "AppId",
            "UniqueTokenIdentifier",
            &[("ResultType", S), ("DurationMs", L), ("TimeGenerated", D)],
        ),
        (
            "AADNonInteractiveUserSignInLogs",
            69,
            "AlternateSignInName",
            "UserType",
            &[
                ("AppliedEventListeners", J),
                ("ConditionalAccessPolicies", S),
                ("DeviceDetail", S),
                ("IsInteractive", B),
                ("_BilledSize", R),
            ],
        ),
        (
            "AADRiskyUsers",
            17,
            "_BilledSize",
            "UserPrincipalName",
            &[
                ("IsDeleted", B),
                ("RiskLastUpdatedDateTime", D),
                ("RiskState", S),
            ],
        ),
        (
            "AADServicePrincipalSignInLogs",
            33,
            "AppId",
            "UniqueTokenIdentifier",
            &[
                ("ServicePrincipalId", S),
                ("LocationDetails", S),
                ("DurationMs", L),
            ],
        ),
        (
            "AADSignInEventsBeta",
            45,
            "Timestamp",
            "EndpointCall",
            &[
                ("ErrorCode", I),
                ("IsGuestUser", B),
                ("IsManaged", I),
                ("RiskLevelAggregated", I),
                ("LastPasswordChangeTimestamp", D),
            ],
        ),
        (
            "AADSpnSignInEventsBeta",
            19,
            "Timestamp",
            "ReportId",
            &[("IsManagedIdentity", B), ("ErrorCode", I)],
        ),
        (
            "AADUserRiskEvents",
            27,
            "Activity",
            "UserPrincipalName",
            &[
                ("AdditionalInfo", J),
                ("Location", J),
                ("DetectedDateTime", D),
            ],
        ),
        (
            "AlertEvidence",
            46,
            "TenantId",
            "Type",
            &[
                ("Timestamp", D),
                ("ApplicationId", I),
                ("FileSize", L),
                ("AdditionalFields", J),
                ("EntityType", S),
            ],
        ),
        (
            "AlertInfo",
            12,
            "TenantId",
            "Type",
            &[
                ("TimeGenerated", D),
                ("AlertId", S),
                ("AttackTechniques", S),
            ],
        ),
        (
            "AuditLogs",
            31,
            "AADOperationType",
            "Type",
            &[
                ("InitiatedBy", J),
                ("TargetResources", J),
                ("AdditionalDetails", J),
                ("ActivityDateTime", D),
            ],
        ),
        (
            "AzureActivity",
            37,
            "ActivityStatus",
            "Type",
            &[
                ("Authorization_d", J),
                ("Properties_d", J),
                ("EventSubmissionTimestamp", D),
            ],
        ),
        (
            "AzureDiagnostics",
            204,
            "action_id_s",
            "workflowId_s",
            &[
                ("ActivityId_g", G),
                ("AdditionalFields", J),
                ("DurationMs", L),
                ("httpStatus_d", R),
                ("isAccessPolicyMatch_b", B),
                ("SubscriptionId", S),
            ],
        ),
        (
            "BehaviorAnalytics",
            33,
            "ActionType",
            "UsersInsights",
            &[
                ("ActivityInsights", J),
                ("InvestigationPriority", I),
                ("TimeProcessed", D),
            ],
        ),
        (
            "CloudAppEvents",
            40,
            "TenantId",
            "Type",
            &[
                ("ApplicationId", I),
                ("RawEventData", J),
                ("ActivityObjects", J),
                ("IsAdminOperation", B),
                ("ReportId", S),
            ],
        ),
        (
            "CommonSecurityLog",
            163,
            "Activity",
            "Type",
            &[
                ("DestinationPort", I),
                ("SentBytes", L),
                ("EndTime", D),
                ("DeviceCustomFloatingPoint1", R),
                ("RemotePort", S),
            ],
        ),
        (
            "DeviceEvents",
            69,
            "TenantId",
            "Type",
            &[
                ("AdditionalFields", J),
                ("RemotePort", I),
                ("ProcessId", L),
                ("IsProcessRemoteSession", B),
                ("MachineGroup", S),
            ],
        ),
        (
            "DeviceFileEvents",
            61,
            "TenantId",
            "Type",
            &[
                ("FileSize", L),
                ("RequestSourcePort", I),
                ("IsAzureInfoProtectionApplied", B),
                ("ShareName", S),
            ],
        ),
        (
            "DeviceImageLoadEvents",
            41,
            "TenantId",
            "Type",
            &[("InitiatingProcessParentCreationTime", D), ("ReportId", L)],
        ),
        (
            "DeviceInfo",
            41,
            "TenantId",
            "Type",
            &[
                ("OSBuild", L),
                ("IsAzureADJoined", B),
                ("LoggedOnUsers", S),
                ("MachineGroup", S),
            ],
        ),
        (
            "DeviceLogonEvents",
            52,
            "TenantId",
            "Type",
            &[
                ("IsLocalAdmin", B),
                ("RemotePort", I),
                ("LogonId", L),
                ("LogonType", S),
            ],
        ),
        (
            "DeviceNetworkEvents",
            48,
            "TenantId",
            "Type",
            &[("RemotePort", I), ("LocalPort", I), ("RemoteIPType", S)],
        ),
        (
            "DeviceNetworkInfo",
            20,
            "TenantId",
            "Type",
            &[("IPAddresses", S), ("ReportId", L)],
        ),
        (
            "DeviceProcessEvents",
            62,
            "TenantId",
            "Type",
            &[
                ("ProcessId", L),
                ("ProcessCreationTime", D),
                ("InitiatingProcessSignerType", S),
                ("AdditionalFields", J),
            ],
        ),
        (
            "DeviceRegistryEvents",
            46,
            "TenantId",
            "Type",
            &[
                ("RegistryValueData", S),
                ("PreviousRegistryKey", S),
                ("IsInitiatingProcessRemoteSession", B),
            ],
        ),
        (
            "DeviceTvmBrowserExtensions",
            10,
            "DeviceId",
            "InstallationTime",
            &[("IsActivated", S), ("InstallationTime", D)],
        ),
        (
            "DeviceTvmInfoGathering",
            6,
            "Timestamp",
            "AdditionalFields",
            &[("LastSeenTime", D), ("AdditionalFields", J)],
        ),
        (
            "DeviceTvmSecureConfigurationAssessment",
            12,
            "DeviceId",
            "IsExpectedUserImpact",
            &[
                ("ConfigurationImpact", R),
                ("IsCompliant", B),
                ("Context", J),
            ],
        ),
        (
            "DeviceTvmSecureConfigurationAssessmentKB",
            10,
            "ConfigurationId",
            "RemediationOptions",
            &[
                ("ConfigurationImpact", R),
                ("ConfigurationBenchmarks", J),
                ("Tags", J),
            ],
        ),
        (
            "DeviceTvmSoftwareInventory",
            11,
            "DeviceId",
            "ProductCodeCpe",
            &[("EndOfSupportDate", D)],
        ),
        (
            "DeviceTvmSoftwareVulnerabilities",
            13,
            "DeviceId",
            "CveTags",
            &[("CveId", S), ("CveTags", J)],
        ),
        (
            "DeviceTvmSoftwareVulnerabilitiesKB",
            8,
            "CveId",
            "AffectedSoftware",
            &[
                ("CvssScore", S),
                ("IsExploitAvailable", B),
                ("PublishedDate", D),
            ],
        ),
        (
            "DnsEvents",
            26,
            "_BilledSize",
            "Type",
            &[("EventId", I), ("ResultCode", I), ("RemoteIPLatitude", R)],
        ),
        (
            "EmailAttachmentInfo",
            19,
            "TenantId",
            "Type",
            &[("FileSize", L), ("NetworkMessageId", S)],
        ),
        (
            "EmailEvents",
            43,
            "TenantId",
            "Type",
            &[
                ("EmailClusterId", L),
                ("BulkComplaintLevel", I),
                ("AttachmentCount", I),
                ("ReportId", S),
                ("AdditionalFields", J),
            ],
        ),
        (
            "EmailPostDeliveryEvents",
            16,
            "TenantId",
            "Type",
            &[("ActionType", S), ("Timestamp", D)],
        ),
        (
            "EmailUrlInfo",
            10,
            "TenantId",
            "Type",
            &[("Url", S), ("UrlLocation", S)],
        ),
        (
            "Event",
            23,
            "_BilledSize",
            "UserName",
            &[("EventID", I), ("EventLevel", I), ("EventData", S)],
        ),
        (
            "ExposureGraphEdges",
            11,
            "EdgeId",
            "EdgeProperties",
            &[("SourceNodeCategories", J), ("EdgeLabel", S)],
        ),
        (
            "GraphAPIAuditEvents",
            20,
            "IdentityProvider",
            "ResponseSize",
            &[
                ("Timestamp", S),
                ("ResponseStatusCode", S),
                ("ResponseSize", I),
            ],
        ),
        (
            "Heartbeat",
            31,
            "_BilledSize",
            "VMUUID",
            &[
                ("ComputerPrivateIPs", J),
                ("IsGatewayInstalled", B),
                ("RemoteIPLatitude", R),
            ],
        ),
        (
            "IdentityDirectoryEvents",
            27,
            "TenantId",
            "Type",
            &[
                ("DestinationPort", I),
                ("Port", I),
                ("AdditionalFields", J),
                ("ISP", S),
            ],
        ),
        (
            "IdentityInfo",
            57,
            "AccountCloudSID",
            "UserType",
            &[
                ("AssignedRoles", J),
                ("GroupMembership", J),
                ("IsAccountEnabled", B),
                ("InvestigationPriority", I),
                ("AccountUPN", S),
            ],
        ),
        (
            "IdentityLogonEvents",
            30,
            "TenantId",
            "Type",
            &[("Port", I), ("AdditionalFields", J), ("Isp", S)],
        ),
        (
            "IdentityQueryEvents",
            29,
            "TenantId",
            "Type",
            &[("QueryTarget", S), ("DestinationPort", I)],
        ),
        (
            "IntuneDevices",
            49,
            "AADTenantId",
            "WifiMacAddress",
            &[
                ("StorageFree", L),
                ("Stats", J),
                ("GraphDeviceIsManaged", B),
                ("CreatedDate", S),
            ],
        ),
        (
            "LAQueryLogs",
            32,
            "AADClientId",
            "WorkspaceRegion",
            &[
                ("ResponseCode", I),
                ("ResponseDurationMs", R),
                ("RequestContext", J),
            ],
        ),
        (
            "MicrosoftGraphActivityLogs",
            30,
            "AadTenantId",
            "Wids",
            &[
                ("ResponseStatusCode", I),
                ("DurationMs", I),
                ("TokenIssuedAt", D),
            ],
        ),
        (
            "OAuthAppInfo",
            18,
            "ReportId",
            "AssignedRoles",
            &[
                ("Permissions", J),
                ("ConsentedUsersCount", I),
                ("IsAdminConsented", B),
            ],
        ),
        (
            "OfficeActivity",
            132,
            "AADGroupId",
            "UserType",
            &[
                ("CrossMailboxOperations", B),
                ("ElevationDuration", I),
                ("ExtraProperties", J),
                ("Start_Time", D),
                ("Parameters", S),
            ],
        ),
        (
            "SecurityAlert",
            35,
            "AlertLink",
            "WorkspaceSubscriptionId",
            &[
                ("ConfidenceScore", R),
                ("IsIncident", B),
                ("Entities", S),
                ("ExtendedProperties", S),
            ],
        ),
        (
            "SecurityEvent",
            218,
            "AccessMask",
            "WorkstationName",
            &[
                ("EventID", I),
                ("LogonType", I),
                ("AuthenticationLevel", I),
                ("IpPort", S),
                ("ProcessId", S),
            ],
        ),
        (
            "SecurityIncident",
            33,
            "AdditionalData",
            "Type",
            &[
                ("IncidentNumber", I),
                ("AlertIds", J),
                ("Owner", J),
                ("ClosedTime", D),
            ],
        ),
        (
            "SigninLogs",
            77,
            "AADTenantId",
            "UserType",
            &[
                ("ConditionalAccessPolicies", J),
                ("AuthenticationDetails", S),
                ("NetworkLocationDetails", S),
                ("Status", J),
                ("DeviceDetail", J),
                ("LocationDetails", J),
                ("AutonomousSystemNumber", S),
                ("DurationMs", L),
                ("IsRisky", B),
            ],
        ),
        (
            "ThreatIntelligenceIndicator",
            64,
            "Action",
            "UserAgent",
            &[
                ("ConfidenceScore", R),
                ("Active", B),
                ("FileSize", I),
                ("NetworkDestinationPort", I),
                ("ExpirationDateTime", D),
            ],
        ),
        (
            "UrlClickEvents",
            16,
            "TenantId",
            "Type",
            &[("IsClickedThrough", B), ("UrlChain", S)],
        ),
        (
            "Usage",
            21,
            "AvgLatencyInSeconds",
            "Type",
            &[("IsBillable", B), ("Quantity", R), ("StartTime", D)],
        ),
    ];

    #[test]
    fn every_table_has_its_documented_columns_order_and_types() {
        assert_eq!(FACTS.len(), tables().len());
        for (schema, &(name, count, first, last, typed)) in tables().iter().zip(FACTS) {
            assert_eq!(schema.name, name);
            assert_eq!(schema.columns.len(), count, "{name}");
            assert_eq!(schema.columns.first().map(|c| c.0), Some(first), "{name}");
            assert_eq!(schema.columns.last().map(|c| c.0), Some(last), "{name}");
            for &(column, ty) in typed {
                assert_eq!(schema.column_type(column), Some(ty), "{name}.{column}");
            }
        }
    }

    #[test]
    fn log_analytics_tables_are_dated_by_time_generated_and_defender_tables_by_timestamp() {
        for schema in tables() {
            let tg = schema.column_type("TimeGenerated");
            let ts = schema.column_type("Timestamp");
            assert!(
                tg == Some(D)
                    || ts.is_some()
                    || schema.name.starts_with("DeviceTvm")
                    || schema.name == "ExposureGraphEdges",
                "{} has no time column",
                schema.name
            );
            if ts.is_some() && tg.is_some() {
                // Sentinel's copies of Defender tables: TenantId, TimeGenerated, Timestamp first.
                let first: Vec<&str> = schema.columns.iter().take(3).map(|c| c.0).collect();
                assert_eq!(
                    first,
                    ["TenantId", "TimeGenerated", "Timestamp"],
                    "{}",
                    schema.name
                );
            }
        }
        assert_eq!(column_type("SigninLogs", "ResultType"), Some(S));
        assert_eq!(column_type("SecurityEvent", "EventID"), Some(I));
        assert_eq!(column_type("SigninLogs", "NoSuchColumn"), None);
        assert_eq!(column_type("NoSuchTable", "TimeGenerated"), None);
    }
}
