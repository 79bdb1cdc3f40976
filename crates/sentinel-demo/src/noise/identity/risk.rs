//! Identity Protection's risk detections and risky users, UEBA's view of everyday activity, and
//! UEBA's identity inventory.

use serde_json::json;

use crate::noise::{egress, office_time};
use crate::org::{DOMAIN, Org, TENANT_ID};
use crate::{DAY, Gen, HOUR, MINUTE, Rng, boolean, dt, dy, int, s};

/// Identity Protection detections on ordinary users (mostly travel), their risky-user records, and
/// UEBA's view of everyday activity.
pub(crate) fn risk(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for k in 0..n {
        let u = &org.users[2 + rng.below(48)];
        let time = office_time(g, rng, u.office);
        if k % 4 == 0 {
            let (event, level) = *rng.pick(&[
                ("unlikelyTravel", "medium"),
                ("anonymizedIPAddress", "low"),
                ("unfamiliarFeatures", "low"),
                ("userReportedSuspiciousActivity", "medium"),
            ]);
            g.push(
                "AADUserRiskEvents",
                [
                    ("TimeGenerated", dt(time + 5 * MINUTE)),
                    ("Activity", s("signin")),
                    ("ActivityDateTime", dt(time)),
                    ("DetectedDateTime", dt(time)),
                    ("LastUpdatedDateTime", dt(time + 5 * MINUTE)),
                    (
                        "DetectionTimingType",
                        s(if event == "unlikelyTravel" { "offline" } else { "realtime" }),
                    ),
                    ("Id", s(rng.hex(64))),
                    ("IpAddress", s(crate::org::OFFICES[(u.office + 1) % 3].egress_ip)),
                    ("Location", dy(json!({"countryOrRegion": crate::org::OFFICES[(u.office + 1) % 3].country}))),
                    ("OperationName", s("User Risk Detection")),
                    ("RequestId", s(rng.guid_string())),
                    ("CorrelationId", s(rng.guid_string())),
                    ("RiskDetail", s("aiConfirmedSigninSafe")),
                    ("RiskEventType", s(event)),
                    ("RiskLevel", s(level)),
                    ("RiskState", s("dismissed")),
                    ("Source", s("IdentityProtection")),
                    ("SourceSystem", s("Azure AD")),
                    ("TokenIssuerType", s("AzureAD")),
                    ("UserDisplayName", s(&u.display_name)),
                    ("UserId", s(&u.object_id)),
                    ("UserPrincipalName", s(&u.upn)),
                    ("AdditionalInfo", dy(json!([]))),
                ],
            );
            crate::story::risky_user(
                g,
                u,
                time + 10 * MINUTE,
                (level, "dismissed", "aiConfirmedSigninSafe"),
            );
        }
        let (activity, action, table) = *rng.pick(&[
            ("LogOn", "Sign-in", "SigninLogs"),
            ("LogOn", "Sign-in", "SigninLogs"),
            ("Access", "FileAccessed", "OfficeActivity"),
            ("Management", "Update user", "AuditLogs"),
        ]);
        g.push(
            "BehaviorAnalytics",
            [
                ("TimeGenerated", dt(time)),
                ("TimeProcessed", dt(time + 20 * MINUTE)),
                ("SourceRecordId", s(rng.guid_string())),
                ("ActivityType", s(activity)),
                ("ActionType", s(action)),
                ("UserName", s(&u.sam)),
                ("UserPrincipalName", s(&u.upn)),
                ("EventSource", s("Azure AD")),
                ("EventVendor", s("Microsoft")),
                ("EventProductVersion", s("1.0")),
                ("SourceIPAddress", s(egress(u))),
                ("SourceIPLocation", s(crate::org::OFFICES[u.office].country)),
                ("NativeTableName", s(table)),
                ("InvestigationPriority", int(rng.below(3) as i32)),
                (
                    "ActivityInsights",
                    dy(json!({"FirstTimeUserConnectedFromCountry": false,
                              "FirstTimeUserUsedApp": rng.chance(0.05),
                              "ActionUncommonlyPerformedByUser": rng.chance(0.03)})),
                ),
                (
                    "UsersInsights",
                    dy(
                        json!({"AccountDisplayName": u.display_name, "AccountObjectID": u.object_id,
                              "IsDormantAccount": false, "IsNewAccount": false}),
                    ),
                ),
                ("DevicesInsights", dy(json!({}))),
            ],
        );
    }
}

/// UEBA's identity inventory: one snapshot of every account a week.
pub(crate) fn identity_info(g: &mut Gen, org: &Org, _rng: &mut Rng, _n: usize) {
    for week in 0..2 {
        let time = g.now - week * 7 * DAY - 3 * HOUR;
        for (i, u) in org.users.iter().enumerate() {
            let office = &crate::org::OFFICES[u.office];
            let roles: Vec<&str> = u.roles.to_vec();
            let groups = if u.admin {
                json!(["Domain Admins", "IT", "All Users"])
            } else {
                json!([u.department, "All Users"])
            };
            g.push(
                "IdentityInfo",
                [
                    ("TimeGenerated", dt(time)),
                    ("SourceSystem", s("Azure AD")),
                    ("AccountCloudSID", s(format!("S-1-12-1-{}", 1_000_000 + i))),
                    (
                        "AccountCreationTime",
                        dt(g.now - (400 + i as i64 * 13) * DAY),
                    ),
                    ("AccountDisplayName", s(&u.display_name)),
                    ("AccountDomain", s(DOMAIN)),
                    ("AccountName", s(&u.sam)),
                    ("AccountObjectId", s(&u.object_id)),
                    ("AccountSID", s(&u.sid)),
                    ("SAMAccountName", s(&u.sam)),
                    ("AccountTenantId", s(TENANT_ID)),
                    ("AccountUPN", s(&u.upn)),
                    ("MailAddress", s(&u.upn)),
                    ("AdditionalMailAddresses", dy(json!([]))),
                    ("AssignedRoles", dy(json!(roles))),
                    (
                        "BlastRadius",
                        s(if !u.roles.is_empty() { "High" } else { "Low" }),
                    ),
                    ("ChangeSource", s("AzureActiveDirectory")),
                    ("City", s(office.city)),
                    ("State", s(office.state)),
                    ("Country", s(office.country)),
                    ("CompanyName", s("Contoso Ltd")),
                    ("Department", s(u.department)),
                    ("JobTitle", s(u.job_title)),
                    ("EmployeeId", s(&u.employee_id)),
                    ("GivenName", s(u.given_name)),
                    ("Surname", s(u.surname)),
                    ("GroupMembership", dy(groups)),
                    ("IsAccountEnabled", boolean(true)),
                    ("IsMFARegistered", boolean(true)),
                    ("IsServiceAccount", boolean(false)),
                    ("Manager", s(if i == 0 { "" } else { "adavis" })),
                    (
                        "OnPremisesDistinguishedName",
                        s(format!(
                            "CN={},OU=Users,OU={},DC=contoso,DC=com",
                            u.display_name, office.city
                        )),
                    ),
                    ("Phone", s(&u.phone)),
                    (
                        "RiskLevel",
                        s(if u.sam == "mbrown" && week == 0 {
                            "High"
                        } else {
                            ""
                        }),
                    ),
                    (
                        "RiskState",
                        s(if u.sam == "mbrown" && week == 0 {
                            "Remediated"
                        } else {
                            ""
                        }),
                    ),
                    (
                        "Tags",
                        s(if u.admin { "[\"Administrator\"]" } else { "[]" }),
                    ),
                    ("UACFlags", s("NormalAccount")),
                    ("UserAccountControl", dy(json!(["NormalAccount"]))),
                    ("UserState", s("Active")),
                    ("UserType", s("Member")),
                    ("InvestigationPriority", int(0)),
                    ("LastSeenDate", dt(time - 2 * HOUR)),
                ],
            );
        }
        for guest in &org.guests {
            g.push(
                "IdentityInfo",
                [
                    ("TimeGenerated", dt(time)),
                    ("SourceSystem", s("Azure AD")),
                    ("AccountDisplayName", s(&guest.display_name)),
                    ("AccountObjectId", s(&guest.object_id)),
                    ("AccountTenantId", s(&guest.home_tenant)),
                    ("AccountUPN", s(&guest.upn)),
                    ("MailAddress", s(&guest.mail)),
                    ("AssignedRoles", dy(json!([]))),
                    ("BlastRadius", s("Low")),
                    ("ChangeSource", s("AzureActiveDirectory")),
                    ("IsAccountEnabled", boolean(true)),
                    ("UserState", s("Active")),
                    ("UserType", s("Guest")),
                    ("GroupMembership", dy(json!(["Partners"]))),
                    ("AdditionalMailAddresses", dy(json!([]))),
                ],
            );
        }
    }
}
