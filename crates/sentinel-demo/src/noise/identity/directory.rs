//! Directory changes in Entra ID's audit log, and password changes as the Entra password
//! protection DC agent logs them.

use serde_json::json;

use crate::noise::{egress, office_time};
use crate::org::Org;
use crate::rows::{self, Audit};
use crate::{Gen, Rng, dt, int, s};

/// Directory changes: `(operation, category, service, self-service)`.
const AUDIT_OPS: [(&str, &str, &str, bool); 31] = [
    ("Update user", "UserManagement", "Core Directory", false),
    (
        "Add member to group",
        "GroupManagement",
        "Core Directory",
        false,
    ),
    (
        "Remove member from group",
        "GroupManagement",
        "Core Directory",
        false,
    ),
    (
        "Reset password (self-service)",
        "UserManagement",
        "Self-service Password Management",
        true,
    ),
    (
        "Change user license",
        "UserManagement",
        "Core Directory",
        false,
    ),
    (
        "Add app role assignment to service principal",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    (
        "Add delegated permission grant",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    (
        "Consent to application",
        "ApplicationManagement",
        "Core Directory",
        true,
    ),
    (
        "Update application – Certificates and secrets management ",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    (
        "Add service principal",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    ("Update device", "Device", "Core Directory", false),
    (
        "User registered security info",
        "UserManagement",
        "Authentication Methods",
        true,
    ),
    (
        "Add member to role completed (PIM activation)",
        "RoleManagement",
        "PIM",
        true,
    ),
    (
        "Add member to role",
        "RoleManagement",
        "Core Directory",
        false,
    ),
    (
        "Remove member from role",
        "RoleManagement",
        "Core Directory",
        false,
    ),
    (
        "Invite external user",
        "UserManagement",
        "Invited Users",
        false,
    ),
    (
        "Redeem external user invite",
        "UserManagement",
        "Invited Users",
        true,
    ),
    (
        "Update conditional access policy",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Update named location",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Unlock user account (self-service)",
        "UserManagement",
        "Self-service Password Management",
        true,
    ),
    (
        "Add member to role in PIM completed (timebound)",
        "RoleManagement",
        "PIM",
        false,
    ),
    (
        "Add eligible member to role in PIM completed (permanent)",
        "RoleManagement",
        "PIM",
        false,
    ),
    ("Add group", "GroupManagement", "Core Directory", false),
    (
        "Update service principal",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    ("Update policy", "Policy", "Core Directory", false),
    (
        "Admin updated security info",
        "UserManagement",
        "Authentication Methods",
        false,
    ),
    (
        "Add conditional access policy",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Delete conditional access policy",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Read BitLocker key",
        "KeyManagement",
        "Core Directory",
        false,
    ),
    (
        "Add member to group",
        "GroupManagement",
        "Microsoft Approval Management",
        false,
    ),
    (
        "Reset password (by admin)",
        "UserManagement",
        "Core Directory",
        false,
    ),
];

pub(crate) fn directory(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let &(op, category, service, self_service) = rng.pick(&AUDIT_OPS);
        let target = rng.pick(&org.users);
        let actor = if self_service {
            target
        } else {
            &org.users[rng.below(3)]
        };
        let time = office_time(g, rng, actor.office);
        let app_actor = if service == "Microsoft Approval Management" {
            Some("Microsoft Approval Management")
        } else if rng.chance(0.12) && !self_service {
            Some("Microsoft Azure AD Cloud Sync")
        } else {
            None
        };
        let service = if app_actor == Some("Microsoft Approval Management") {
            "Core Directory"
        } else {
            service
        };
        let initiated = match app_actor {
            Some(app) => json!({"app": {"appId": null, "displayName": app,
                                        "servicePrincipalId": "a3e7b4c2-0000-4f6a-b0a1-2f7d9e5c1b00", "servicePrincipalName": null}}),
            None => {
                json!({"user": {"id": actor.object_id, "displayName": null, "userPrincipalName": actor.upn,
                                    "ipAddress": egress(actor)}})
            }
        };
        let targets = match category {
            "ApplicationManagement" => {
                let sp = rng.pick(&org.service_principals);
                json!([{"id": sp.object_id, "displayName": sp.name, "type": "ServicePrincipal",
                        "modifiedProperties": [{"displayName": "AppRole.Value", "oldValue": null,
                                                "newValue": "\"User.Read.All\""}]},
                       {"id": "4f2b4d6c-0000-4a8b-9c1d-2e3f4a5b6c7d", "displayName": "Microsoft Graph", "type": "ServicePrincipal",
                        "modifiedProperties": []}])
            }
            // PIM names the role, the request and the principal; the directory names the user and
            // the role in its modified properties.
            "RoleManagement" if service == "PIM" => {
                json!([{"id": "5d6b6bb7-de71-4623-b4af-96380a352509", "displayName": "Security Reader",
                        "type": "Role", "modifiedProperties": []},
                       {"id": rng.guid_string(), "displayName": null, "type": "Request",
                        "modifiedProperties": []},
                       {"id": target.object_id, "displayName": target.display_name, "type": "User",
                        "userPrincipalName": target.upn, "modifiedProperties": []}])
            }
            "RoleManagement" => {
                let role = json!("\"Security Reader\"");
                let (old, new) = if op.starts_with("Remove") {
                    (role, json!(null))
                } else {
                    (json!(null), role)
                };
                json!([{"id": target.object_id, "displayName": target.display_name, "type": "User",
                        "userPrincipalName": target.upn,
                        "modifiedProperties": [
                            {"displayName": "Role.ObjectID", "oldValue": null,
                             "newValue": "\"b0f9e6a3-6a2c-4d1e-9f0a-5d6b6bb7de71\""},
                            {"displayName": "Role.DisplayName", "oldValue": old, "newValue": new},
                            {"displayName": "Role.TemplateId", "oldValue": null,
                             "newValue": "\"5d6b6bb7-de71-4623-b4af-96380a352509\""},
                            {"displayName": "Role.WellKnownObjectName", "oldValue": null,
                             "newValue": "\"SecurityReader\""}]},
                       {"id": "5d6b6bb7-de71-4623-b4af-96380a352509", "displayName": "Security Reader", "type": "Role"}])
            }
            "Policy" => {
                json!([{"id": rng.guid_string(), "displayName": "Require MFA for all users", "type": "Policy",
                                "modifiedProperties": [{"displayName": "ConditionalAccessPolicy", "oldValue": "{}", "newValue": "{}"}]}])
            }
            _ if op.contains("external") => {
                let guest = rng.pick(&org.guests);
                json!([{"id": guest.object_id, "displayName": guest.display_name, "type": "User",
                        "userPrincipalName": guest.upn, "modifiedProperties": []}])
            }
            _ => {
                json!([{"id": target.object_id, "displayName": target.display_name, "type": "User",
                         "userPrincipalName": target.upn, "modifiedProperties": []}])
            }
        };
        let result = if rng.chance(0.97) {
            "success"
        } else {
            "failure"
        };
        let (name, upn, oid) = if let Some(app) = app_actor {
            (app, "", "a3e7b4c2-0000-4f6a-b0a1-2f7d9e5c1b00")
        } else {
            (
                actor.display_name.as_str(),
                actor.upn.as_str(),
                actor.object_id.as_str(),
            )
        };
        rows::audit(
            g,
            rng,
            Audit {
                time,
                operation: op,
                category,
                service,
                actor: initiated,
                actor_account: (name, upn, oid),
                actor_ip: egress(actor),
                targets,
                details: if op.contains("self-service") {
                    json!([{"key": "MethodsUsedForValidation", "value": "Mobile app notification"}])
                } else {
                    json!([])
                },
                result,
                result_reason: "",
            },
        );
    }
}

/// What the Entra password protection DC agent logs when a password is set or changed:
/// `(event id, level, what happened)`.
const PASSWORD_POLICY_EVENTS: [(i32, &str, &str); 5] = [
    (
        10014,
        "Information",
        "The changed password for the specified user was validated as compliant with the current Azure password policy.",
    ),
    (
        10014,
        "Information",
        "The changed password for the specified user was validated as compliant with the current Azure password policy.",
    ),
    (
        10015,
        "Information",
        "The reset password for the specified user was validated as compliant with the current Azure password policy.",
    ),
    (
        10016,
        "Warning",
        "The changed password for the specified user was rejected because it did not comply with the current Azure password policy.",
    ),
    (
        30002,
        "Warning",
        "The changed password for the specified user was rejected because it matched at least one of the tokens present in the per-tenant banned password list of the current Azure password policy.",
    ),
];

/// Password changes and resets as the Entra password protection DC agent logs them (Event).
pub(crate) fn password_protection(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let u = rng.pick(&org.users);
        let dc = org.device(if rng.chance(0.6) {
            "srv-dc01"
        } else {
            "srv-dc02"
        });
        let time = office_time(g, rng, u.office);
        let &(id, level, text) = rng.pick(&PASSWORD_POLICY_EVENTS);
        let description = format!(
            "{text}\r\n\r\n UserName: {}\r\n FullName: {}",
            u.sam, u.display_name
        );
        g.push(
            "Event",
            [
                ("TimeGenerated", dt(time)),
                ("Source", s("Microsoft-AzureADPasswordProtection-DCAgent")),
                ("EventLog", s("Microsoft-AzureADPasswordProtection-DCAgent/Admin")),
                ("Computer", s(&dc.fqdn)),
                ("EventLevel", int(if level == "Warning" { 3 } else { 4 })),
                ("EventLevelName", s(level)),
                ("EventID", int(id)),
                ("EventCategory", int(0)),
                ("UserName", s("NT AUTHORITY\\SYSTEM")),
                ("RenderedDescription", s(&description)),
                (
                    "ParameterXml",
                    s(format!("<Param>{}</Param><Param>{}</Param>", u.sam, u.display_name)),
                ),
                (
                    "EventData",
                    s(format!(
                        "<DataItem type=\"System.XmlData\" time=\"{}\" sourceHealthServiceId=\"{}\"><EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><Data Name=\"UserName\">{}</Data><Data Name=\"FullName\">{}</Data></EventData></DataItem>",
                        crate::iso(time),
                        dc.aad_device_id,
                        u.sam,
                        u.display_name
                    )),
                ),
                ("Message", s(&description)),
                ("SourceSystem", s("OpsManager")),
                ("ManagementGroupName", s("AOI-72f988bf-0000-4e1a-9c0d-c0a7050de4a0")),
            ],
        );
    }
}
