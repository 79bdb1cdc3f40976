//! Row shapes shared by the story and the noise: sign-ins, Defender device events, Windows
//! security events, directory audits and Microsoft 365 activity. One event often lands in several
//! tables, as it does in a real workspace (a process start in DeviceProcessEvents and as 4688 in
//! SecurityEvent; a sign-in in SigninLogs, AADSignInEventsBeta and IdentityLogonEvents).

use serde_json::{Value as Json, json};

use super::org::{DOMAIN, Device, NETBIOS, OFFICES, User};
use super::{Gen, Rng, boolean, dt, dy, file_hashes, int, long, s};
use kql::value::Value;

pub(super) const APPS: [(&str, &str); 8] = [
    (
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
    ),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
    (
        "Office 365 SharePoint Online",
        "00000003-0000-0ff1-ce00-000000000000",
    ),
    ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c"),
    ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca"),
    (
        "OneDrive SyncEngine",
        "ab9b8c07-8f02-4f72-87fa-80105867a763",
    ),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
    ("My Signins", "19db86c3-b2b9-44cc-b339-36da233a3be2"),
];

pub(super) const ORG_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0";

/// Where a sign-in came from.
#[derive(Clone, Copy)]
pub(super) struct Place<'a> {
    pub ip: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub country: &'a str,
    pub lat: f64,
    pub lon: f64,
    pub asn: i32,
}

/// A user's office as a sign-in place.
pub(super) fn office_place(u: &User) -> Place<'static> {
    let o = &OFFICES[u.office];
    Place {
        ip: o.egress_ip,
        city: o.city,
        state: o.state,
        country: o.country,
        lat: o.lat,
        lon: o.lon,
        asn: 64_496,
    }
}

/// Who signed in: a member of the organisation or a guest.
#[derive(Clone, Copy)]
pub(super) struct Signer<'a> {
    pub display_name: &'a str,
    pub upn: &'a str,
    pub object_id: &'a str,
    pub guest: bool,
}

impl<'a> From<&'a User> for Signer<'a> {
    fn from(u: &'a User) -> Signer<'a> {
        Signer {
            display_name: &u.display_name,
            upn: &u.upn,
            object_id: &u.object_id,
            guest: false,
        }
    }
}

/// One sign-in.
pub(super) struct SignIn<'a> {
    pub time: i64,
    pub user: Signer<'a>,
    pub place: Place<'a>,
    pub app: (&'a str, &'a str),
    pub result: &'a str,
    pub client_app: &'a str,
    pub user_agent: &'a str,
    pub risk: &'a str,
    /// The second factor (`Mobile app notification`, `Previously satisfied`, …); empty for a
    /// single-factor sign-in.
    pub mfa: &'a str,
    pub device: Option<&'a Device>,
    /// `(home, resource)` tenant ids: a guest's home tenant, or a partner tenant a member signs
    /// in to.
    pub tenants: (&'a str, &'a str),
    /// `none`, `deviceCode`, `ropc`, …
    pub protocol: &'a str,
    /// A token refresh rather than a sign-in the user typed (AADNonInteractiveUserSignInLogs).
    pub interactive: bool,
}

pub(super) fn result_description(code: &str) -> &'static str {
    match code {
        "0" => "",
        "50126" => "Error validating credentials due to invalid username or password.",
        "50053" => {
            "Account is locked because user tried to sign in too many times with an incorrect user ID or password."
        }
        "50074" => "Strong Authentication is required.",
        "50140" => {
            "This error occurred due to 'Keep me signed in' interrupt when the user was signing in."
        }
        "500121" => "Authentication failed during strong authentication request.",
        "50158" => "External security challenge was not satisfied.",
        "53003" => "Access has been blocked by Conditional Access policies.",
        "50076" => {
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource."
        }
        _ => "Other",
    }
}

/// The Conditional Access policies a sign-in is evaluated against, as SigninLogs records them.
fn conditional_access(result: &str, mfa: bool) -> Json {
    let blocked = result == "53003";
    json!([
        {"id": "2a8e1b3c-0000-4b6e-9a1d-5e0c3f7d9b01", "displayName": "Require MFA for all users",
         "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": [],
         "result": if result == "0" && mfa { "success" } else if result == "0" { "notApplied" } else { "failure" }},
        {"id": "7c4d2e1f-0000-4a9b-8c3e-1f2a3b4c5d02", "displayName": "Block legacy authentication",
         "enforcedGrantControls": ["Block"], "enforcedSessionControls": [],
         "result": if blocked { "failure" } else { "notApplied" }},
        {"id": "9e1f3a5b-0000-4c7d-8e2f-3a4b5c6d7e03", "displayName": "Require compliant device for admins (report-only)",
         "enforcedGrantControls": ["RequireCompliantDevice"], "enforcedSessionControls": [],
         "result": "reportOnlyNotApplied"},
    ])
}

pub(super) fn signin(g: &mut Gen, rng: &mut Rng, si: SignIn<'_>) {
    let ok = si.result == "0";
    let correlation = rng.guid_string();
    let id = rng.guid_string();
    let session = rng.guid_string();
    let token = rng.hex(22);
    let risky = si.risk != "none";
    let os = if si.user_agent.contains("Linux") {
        "Linux"
    } else {
        "Windows10"
    };
    let browser = if si.user_agent.contains("Chrome/118") {
        "Chrome 118.0.0"
    } else {
        "Edge 130.0.0"
    };
    let device = match si.device {
        Some(d) => {
            json!({"deviceId": d.aad_device_id, "displayName": d.short, "operatingSystem": os,
                          "browser": browser, "isCompliant": true, "isManaged": true,
                          "trustType": "Hybrid Azure AD joined"})
        }
        None => json!({"deviceId": "", "operatingSystem": os, "browser": browser}),
    };
    let location = json!({"city": si.place.city, "state": si.place.state, "countryOrRegion": si.place.country,
                          "geoCoordinates": {"latitude": si.place.lat, "longitude": si.place.lon}});
    let status = if ok {
        json!({"errorCode": 0})
    } else {
        json!({"errorCode": si.result.parse::<i64>().unwrap_or(0), "failureReason": result_description(si.result)})
    };
    let mfa = !si.mfa.is_empty();
    let mfa_detail = if mfa && ok {
        json!({"authMethod": si.mfa, "authDetail": null})
    } else {
        json!({})
    };
    let mut steps = vec![
        json!({"authenticationStepDateTime": super::iso(si.time), "authenticationMethod": "Password",
               "authenticationMethodDetail": "Password in the cloud", "succeeded": ok || matches!(si.result, "50074" | "500121"),
               "authenticationStepResultDetail": if ok || si.result == "500121" { "Correct password" } else { result_description(si.result) },
               "authenticationStepRequirement": "Primary authentication"}),
    ];
    if mfa && matches!(si.result, "0" | "500121") {
        steps.push(json!({"authenticationStepDateTime": super::iso(si.time), "authenticationMethod": si.mfa,
                          "succeeded": ok,
                          "authenticationStepResultDetail": if ok { "MFA successfully completed" } else { "MFA denied; user declined the authentication" },
                          "authenticationStepRequirement": "Multi-factor authentication"}));
    }
    let auth_details = json!(steps);
    let network = if si.place.asn == 64_496 {
        json!([{"networkType": "namedNetwork", "networkNames": ["Contoso offices"]}])
    } else {
        json!([])
    };
    let requirement = if mfa {
        "multiFactorAuthentication"
    } else {
        "singleFactorAuthentication"
    };
    let ca_status = if si.result == "53003" {
        "failure"
    } else if si.device.is_some() || mfa {
        "success"
    } else {
        "notApplied"
    };
    let table = if si.interactive {
        "SigninLogs"
    } else {
        "AADNonInteractiveUserSignInLogs"
    };
    if g.wants(table) {
        // The non-interactive table stores the structured columns as JSON text.
        let structured = |v: Json| {
            if si.interactive {
                dy(v)
            } else {
                s(v.to_string())
            }
        };
        let fields = [
            ("SourceSystem", s("Azure AD")),
            ("TimeGenerated", dt(si.time)),
            ("OperationName", s("Sign-in activity")),
            ("OperationVersion", s("1.0")),
            (
                "Category",
                s(if si.interactive {
                    "SignInLogs"
                } else {
                    "NonInteractiveUserSignInLogs"
                }),
            ),
            ("ResultType", s(si.result)),
            ("ResultSignature", s(if ok { "SUCCESS" } else { "NONE" })),
            ("ResultDescription", s(result_description(si.result))),
            ("DurationMs", long(0)),
            ("CorrelationId", s(&correlation)),
            ("Identity", s(si.user.display_name)),
            ("Level", s(if ok { "4" } else { "3" })),
            ("Location", s(si.place.country)),
            ("AppDisplayName", s(si.app.0)),
            ("AppId", s(si.app.1)),
            ("AuthenticationRequirement", s(requirement)),
            ("ClientAppUsed", s(si.client_app)),
            ("ConditionalAccessStatus", s(ca_status)),
            (
                "ConditionalAccessPolicies",
                structured(conditional_access(si.result, mfa)),
            ),
            ("AuthenticationDetails", s(auth_details.to_string())),
            (
                "AuthenticationMethodsUsed",
                s(if mfa {
                    format!("Password, {}", si.mfa)
                } else {
                    "Password".to_string()
                }),
            ),
            ("AuthenticationProtocol", s(si.protocol)),
            ("CreatedDateTime", dt(si.time)),
            ("DeviceDetail", structured(device)),
            ("IsInteractive", boolean(si.interactive)),
            ("Id", s(&id)),
            ("IPAddress", s(si.place.ip)),
            ("IsRisky", boolean(risky)),
            ("LocationDetails", structured(location)),
            ("MfaDetail", structured(mfa_detail)),
            ("NetworkLocationDetails", s(network.to_string())),
            ("RiskDetail", s("none")),
            (
                "RiskEventTypes_V2",
                s(if risky {
                    "[\"unfamiliarFeatures\"]"
                } else {
                    "[]"
                }),
            ),
            ("RiskLevelAggregated", s(si.risk)),
            ("RiskLevelDuringSignIn", s(si.risk)),
            ("RiskState", s(if risky { "atRisk" } else { "none" })),
            ("ResourceDisplayName", s(si.app.0)),
            ("ResourceIdentity", s(si.app.1)),
            ("ResourceTenantId", s(si.tenants.1)),
            ("HomeTenantId", s(si.tenants.0)),
            ("AADTenantId", s(super::org::TENANT_ID)),
            ("Status", structured(status)),
            ("UserAgent", s(si.user_agent)),
            ("UserDisplayName", s(si.user.display_name)),
            ("UserId", s(si.user.object_id)),
            ("UserPrincipalName", s(si.user.upn)),
            (
                "UserType",
                s(if si.user.guest { "Guest" } else { "Member" }),
            ),
            ("AutonomousSystemNumber", s(si.place.asn.to_string())),
            ("TokenIssuerType", s("AzureAD")),
            ("TokenIssuerName", s("")),
            ("UniqueTokenIdentifier", s(&token)),
            (
                "CrossTenantAccessType",
                s(if si.tenants.0 == si.tenants.1 {
                    "none"
                } else {
                    "b2bCollaboration"
                }),
            ),
            ("SignInIdentifierType", s("userPrincipalName")),
            (
                "SignInEventTypes",
                s(if si.interactive {
                    "[\"interactiveUser\"]"
                } else {
                    "[\"nonInteractiveUser\"]"
                }),
            ),
        ];
        g.push_known(table, fields);
    }
    if g.wants("AADSignInEventsBeta") {
        let risk_level = match si.risk {
            "low" => 10,
            "medium" => 50,
            "high" => 100,
            _ => 1,
        };
        g.push(
            "AADSignInEventsBeta",
            [
                ("Timestamp", dt(si.time)),
                ("Application", s(si.app.0)),
                ("ApplicationId", s(si.app.1)),
                (
                    "LogonType",
                    s(if si.interactive {
                        "[\"interactiveUser\"]"
                    } else {
                        "[\"nonInteractiveUser\"]"
                    }),
                ),
                ("ErrorCode", int(si.result.parse().unwrap_or(0))),
                ("CorrelationId", s(&correlation)),
                ("SessionId", s(&session)),
                ("AccountDisplayName", s(si.user.display_name)),
                ("AccountObjectId", s(si.user.object_id)),
                ("AccountUpn", s(si.user.upn)),
                ("IsExternalUser", int(i32::from(si.user.guest))),
                ("IsGuestUser", boolean(si.user.guest)),
                (
                    "LastPasswordChangeTimestamp",
                    if si.user.guest {
                        Value::Null
                    } else {
                        dt(si.time
                            - (60 + i64::from(si.user.object_id.bytes().next().unwrap_or(0) % 30))
                                * super::DAY)
                    },
                ),
                ("ResourceDisplayName", s(si.app.0)),
                ("ResourceId", s(si.app.1)),
                ("ResourceTenantId", s(si.tenants.1)),
                ("DeviceName", s(si.device.map_or("", |d| d.fqdn.as_str()))),
                (
                    "AadDeviceId",
                    s(si.device.map_or("", |d| d.aad_device_id.as_str())),
                ),
                (
                    "EntraIdDeviceId",
                    s(si.device.map_or("", |d| d.aad_device_id.as_str())),
                ),
                (
                    "OSPlatform",
                    s(if os == "Linux" { "Linux" } else { "Windows 10" }),
                ),
                (
                    "DeviceTrustType",
                    s(if si.device.is_some() { "ServerAd" } else { "" }),
                ),
                ("IsManaged", int(i32::from(si.device.is_some()))),
                ("IsCompliant", int(i32::from(si.device.is_some()))),
                ("AuthenticationRequirement", s(requirement)),
                ("TokenIssuerType", int(0)),
                ("RiskLevelAggregated", int(risk_level)),
                ("RiskState", int(if risky { 4 } else { 0 })),
                ("UserAgent", s(si.user_agent)),
                ("ClientAppUsed", s(si.client_app)),
                ("Browser", s(browser)),
                (
                    "ConditionalAccessPolicies",
                    s(conditional_access(si.result, mfa).to_string()),
                ),
                (
                    "ConditionalAccessStatus",
                    int(match ca_status {
                        "success" => 0,
                        "failure" => 1,
                        _ => 2,
                    }),
                ),
                ("IPAddress", s(si.place.ip)),
                ("Country", s(si.place.country)),
                ("State", s(si.place.state)),
                ("City", s(si.place.city)),
                ("Latitude", s(si.place.lat.to_string())),
                ("Longitude", s(si.place.lon.to_string())),
                ("NetworkLocationDetails", s(network.to_string())),
                ("RequestId", s(&id)),
                ("ReportId", s(&id)),
                ("EndpointCall", s("Sign-in")),
            ],
        );
    }
    // Defender for Cloud Apps records interactive sign-ins to Microsoft 365 apps.
    if si.interactive && g.wants("IdentityLogonEvents") {
        let report = format!("{}-{}", id, si.time);
        g.push(
            "IdentityLogonEvents",
            [
                ("Timestamp", dt(si.time)),
                (
                    "ActionType",
                    s(if ok { "LogonSuccess" } else { "LogonFailed" }),
                ),
                ("Application", s("Microsoft 365")),
                ("LogonType", s("Login:login")),
                ("Protocol", s("")),
                (
                    "FailureReason",
                    s(if ok {
                        ""
                    } else if si.result == "50053" {
                        "AccountLocked"
                    } else {
                        "InvalidUserNameOrPassword"
                    }),
                ),
                (
                    "AccountName",
                    s(si.user.upn.split('@').next().unwrap_or_default()),
                ),
                ("AccountDomain", s(DOMAIN)),
                ("AccountUpn", s(si.user.upn)),
                ("AccountObjectId", s(si.user.object_id)),
                ("AccountDisplayName", s(si.user.display_name)),
                ("DeviceName", s(si.device.map_or("", |d| d.fqdn.as_str()))),
                (
                    "DeviceType",
                    s(if si.device.is_some() { "Desktop" } else { "" }),
                ),
                (
                    "OSPlatform",
                    s(if os == "Linux" { "Linux" } else { "Windows" }),
                ),
                ("IPAddress", s(si.place.ip)),
                ("Location", s(si.place.country)),
                (
                    "Isp",
                    s(if si.place.asn == 64_496 {
                        "Contoso Networks"
                    } else {
                        "Example Hosting B.V."
                    }),
                ),
                ("ReportId", s(report)),
                (
                    "AdditionalFields",
                    dy(json!({"ACTOR.ACCOUNT": si.user.upn, "Pass-through": false,
                              "Application": si.app.0, "UserAgent": si.user_agent})),
                ),
            ],
        );
    }
}

/// `DeviceId` and `DeviceName`.
pub(super) fn device(d: &Device) -> [(&'static str, Value); 2] {
    [("DeviceId", s(&d.device_id)), ("DeviceName", s(&d.fqdn))]
}

/// A process as the `InitiatingProcess*` columns describe it.
#[derive(Clone, Copy)]
pub(super) struct Proc<'a> {
    pub file: &'a str,
    pub folder: &'a str,
    pub command_line: &'a str,
    pub pid: i64,
    pub parent: &'a str,
    /// `None` for the local system account.
    pub account: Option<&'a User>,
}

pub(super) const SYSTEM: Proc<'static> = Proc {
    file: "services.exe",
    folder: "c:\\windows\\system32\\services.exe",
    command_line: "services.exe",
    pid: 716,
    parent: "wininit.exe",
    account: None,
};

pub(super) const LSASS: Proc<'static> = Proc {
    file: "lsass.exe",
    folder: "c:\\windows\\system32\\lsass.exe",
    command_line: "lsass.exe",
    pid: 812,
    parent: "wininit.exe",
    account: None,
};

/// `(company, product, description)` of a binary's version information.
fn version_info(file: &str, folder: &str) -> (&'static str, &'static str, &'static str) {
    let f = file.to_ascii_lowercase();
    if f.ends_with(".exe")
        && (folder.contains("\\windows\\") || folder.contains("windows defender"))
    {
        (
            "Microsoft Corporation",
            "Microsoft® Windows® Operating System",
            "Windows component",
        )
    } else if folder.contains("microsoft office") {
        (
            "Microsoft Corporation",
            "Microsoft Office",
            "Microsoft Office application",
        )
    } else if folder.contains("google") {
        ("Google LLC", "Google Chrome", "Google Chrome")
    } else if folder.contains("microsoft\\edge") {
        ("Microsoft Corporation", "Microsoft Edge", "Microsoft Edge")
    } else if folder.contains("7-zip") {
        ("Igor Pavlov", "7-Zip", "7-Zip Console")
    } else {
        ("", "", "")
    }
}

/// The account columns of a process's account: `(domain, name, sid, upn, object id)`.
fn account_of(account: Option<&User>) -> (&'static str, &str, &str, &str, &str) {
    match account {
        Some(u) => (NETBIOS, &u.sam, &u.sid, &u.upn, &u.object_id),
        None => ("nt authority", "system", "S-1-5-18", "", ""),
    }
}

/// The `InitiatingProcess*` columns; a table keeps those it has.
pub(super) fn initiating(p: &Proc<'_>, time: i64) -> Vec<(&'static str, Value)> {
    let (sha1, sha256, md5) = file_hashes(p.file);
    let (domain, name, sid, upn, oid) = account_of(p.account);
    let (company, product, description) = version_info(p.file, p.folder);
    let elevated = p.account.is_none_or(|u| u.admin);
    vec![
        ("InitiatingProcessAccountDomain", s(domain)),
        ("InitiatingProcessAccountName", s(name)),
        ("InitiatingProcessAccountSid", s(sid)),
        ("InitiatingProcessAccountUpn", s(upn)),
        ("InitiatingProcessAccountObjectId", s(oid)),
        ("InitiatingProcessFileName", s(p.file)),
        ("InitiatingProcessFolderPath", s(p.folder)),
        ("InitiatingProcessCommandLine", s(p.command_line)),
        ("InitiatingProcessId", long(p.pid)),
        ("InitiatingProcessSHA1", s(sha1)),
        ("InitiatingProcessSHA256", s(sha256)),
        ("InitiatingProcessMD5", s(md5)),
        (
            "InitiatingProcessFileSize",
            long(60_000 + (p.pid * 53) % 2_000_000),
        ),
        ("InitiatingProcessVersionInfoCompanyName", s(company)),
        ("InitiatingProcessVersionInfoProductName", s(product)),
        (
            "InitiatingProcessVersionInfoFileDescription",
            s(description),
        ),
        ("InitiatingProcessVersionInfoOriginalFileName", s(p.file)),
        ("InitiatingProcessVersionInfoInternalFileName", s(p.file)),
        (
            "InitiatingProcessCreationTime",
            dt(time - (p.pid % 3_600) * super::SECOND),
        ),
        ("InitiatingProcessParentFileName", s(p.parent)),
        ("InitiatingProcessParentId", long(p.pid / 2 + 4)),
        (
            "InitiatingProcessParentCreationTime",
            dt(time - (p.pid % 7_200 + 3_600) * super::SECOND),
        ),
        (
            "InitiatingProcessIntegrityLevel",
            s(if p.account.is_none() {
                "System"
            } else if elevated {
                "High"
            } else {
                "Medium"
            }),
        ),
        (
            "InitiatingProcessTokenElevation",
            s(if elevated {
                "TokenElevationTypeDefault"
            } else {
                "TokenElevationTypeLimited"
            }),
        ),
        ("InitiatingProcessLogonId", long(0x3e7 + p.pid % 97)),
        (
            "InitiatingProcessSessionId",
            long(i64::from(p.account.is_some())),
        ),
        ("IsInitiatingProcessRemoteSession", boolean(false)),
    ]
}

/// One `ProcessCreated` event: `child` started by `parent` on `d` at `time` (and its 4688 in
/// SecurityEvent on Windows machines).
pub(super) fn process_created(
    g: &mut Gen,
    d: &Device,
    time: i64,
    parent: &Proc<'_>,
    child: &Proc<'_>,
) {
    let (sha1, sha256, md5) = file_hashes(child.file);
    let (domain, name, sid, upn, oid) = account_of(child.account);
    let (company, product, description) = version_info(child.file, child.folder);
    let report = g.report_id();
    let elevated = child.account.is_none_or(|u| u.admin);
    if g.wants("DeviceProcessEvents") {
        let fields = device(d)
            .into_iter()
            .chain(initiating(parent, time))
            .chain([
                ("Timestamp", dt(time)),
                ("ActionType", s("ProcessCreated")),
                ("FileName", s(child.file)),
                ("FolderPath", s(child.folder)),
                ("SHA1", s(sha1)),
                ("SHA256", s(sha256)),
                ("MD5", s(md5)),
                ("FileSize", long(40_000 + (child.pid * 37) % 900_000)),
                ("ProcessVersionInfoCompanyName", s(company)),
                ("ProcessVersionInfoProductName", s(product)),
                ("ProcessVersionInfoFileDescription", s(description)),
                ("ProcessVersionInfoOriginalFileName", s(child.file)),
                ("ProcessVersionInfoInternalFileName", s(child.file)),
                ("ProcessId", long(child.pid)),
                ("ProcessCommandLine", s(child.command_line)),
                (
                    "ProcessIntegrityLevel",
                    s(if child.account.is_none() {
                        "System"
                    } else if elevated {
                        "High"
                    } else {
                        "Medium"
                    }),
                ),
                (
                    "ProcessTokenElevation",
                    s(if elevated {
                        "TokenElevationTypeDefault"
                    } else {
                        "TokenElevationTypeLimited"
                    }),
                ),
                ("ProcessCreationTime", dt(time)),
                ("AccountDomain", s(domain)),
                ("AccountName", s(name)),
                ("AccountSid", s(sid)),
                ("AccountUpn", s(upn)),
                ("AccountObjectId", s(oid)),
                ("LogonId", long(0x3e7 + child.pid)),
                ("InitiatingProcessSignerType", s("OsVendor")),
                ("InitiatingProcessSignatureStatus", s("Valid")),
                ("ReportId", report),
                ("AdditionalFields", dy(json!({}))),
                ("SourceSystem", s("")),
            ]);
        g.push_known("DeviceProcessEvents", fields);
    }
    if !d.linux && g.wants("SecurityEvent") {
        let folder = child.folder.replace("c:\\", "C:\\");
        security_event(
            g,
            d,
            time,
            4688,
            [
                (
                    "Account",
                    s(format!("{}\\{}", domain.to_ascii_uppercase(), name)),
                ),
                (
                    "AccountType",
                    s(if child.account.is_some() {
                        "User"
                    } else {
                        "Machine"
                    }),
                ),
                ("SubjectUserName", s(name)),
                ("SubjectDomainName", s(domain.to_ascii_uppercase())),
                ("SubjectUserSid", s(sid)),
                ("SubjectLogonId", s(format!("0x{:x}", 0x3e7 + child.pid))),
                ("NewProcessName", s(folder)),
                ("NewProcessId", s(format!("0x{:x}", child.pid))),
                ("CommandLine", s(child.command_line)),
                (
                    "ParentProcessName",
                    s(parent.folder.replace("c:\\", "C:\\")),
                ),
                ("ProcessId", s(format!("0x{:x}", parent.pid))),
                ("Process", s(child.file)),
                (
                    "TokenElevationType",
                    s(if elevated { "%%1936" } else { "%%1938" }),
                ),
                (
                    "MandatoryLabel",
                    s(if child.account.is_none() {
                        "S-1-16-16384"
                    } else if elevated {
                        "S-1-16-12288"
                    } else {
                        "S-1-16-8192"
                    }),
                ),
            ],
        );
    }
}

/// Activity text of a Windows security event.
fn activity(event_id: i32) -> &'static str {
    match event_id {
        1102 => "1102 - The audit log was cleared.",
        4624 => "4624 - An account was successfully logged on.",
        4625 => "4625 - An account failed to log on.",
        4634 => "4634 - An account was logged off.",
        4648 => "4648 - A logon was attempted using explicit credentials.",
        4672 => "4672 - Special privileges assigned to new logon.",
        4688 => "4688 - A new process has been created.",
        4698 => "4698 - A scheduled task was created.",
        4720 => "4720 - A user account was created.",
        4724 => "4724 - An attempt was made to reset an account's password.",
        4726 => "4726 - A user account was deleted.",
        4728 => "4728 - A member was added to a security-enabled global group.",
        4732 => "4732 - A member was added to a security-enabled local group.",
        4738 => "4738 - A user account was changed.",
        4742 => "4742 - A computer account was changed.",
        4740 => "4740 - A user account was locked out.",
        4768 => "4768 - A Kerberos authentication ticket (TGT) was requested.",
        4769 => "4769 - A Kerberos service ticket was requested.",
        4776 => {
            "4776 - The domain controller attempted to validate the credentials for an account."
        }
        5136 => "5136 - A directory service object was modified.",
        5140 => "5140 - A network share object was accessed.",
        5145 => {
            "5145 - A network share object was checked to see whether client can be granted desired access."
        }
        _ => "",
    }
}

/// Task category of a Windows security event.
fn task(event_id: i32) -> i32 {
    match event_id {
        1102 => 104,
        4624 | 4625 | 4634 | 4648 => 12544,
        4672 => 12548,
        4688 => 13312,
        4698 => 12804,
        4720 | 4724 | 4726 | 4738 | 4740 => 13824,
        4742 => 13825,
        5136 => 14081,
        4728 | 4732 => 13826,
        4768 => 14339,
        4769 => 14337,
        4776 => 14336,
        5140 | 5145 => 12808,
        _ => 0,
    }
}

/// One event from a machine's Security log, as the Azure Monitor Agent sends it.
pub(super) fn security_event<'a>(
    g: &mut Gen,
    d: &Device,
    time: i64,
    event_id: i32,
    fields: impl IntoIterator<Item = (&'a str, Value)>,
) {
    let computer = d.fqdn.clone();
    let base = [
        ("TimeGenerated", dt(time)),
        ("Computer", s(computer)),
        ("EventID", int(event_id)),
        ("Activity", s(activity(event_id))),
        ("Channel", s("Security")),
        (
            "EventSourceName",
            s(if event_id == 1102 {
                "Microsoft-Windows-Eventlog"
            } else {
                "Microsoft-Windows-Security-Auditing"
            }),
        ),
        ("Level", s(if event_id == 4625 { "0" } else { "8" })),
        ("Task", int(task(event_id))),
        ("SourceSystem", s("OpsManager")),
        (
            "ManagementGroupName",
            s("AOI-72f988bf-0000-4e1a-9c0d-c0a7050de4a0"),
        ),
        ("SourceComputerId", s(&d.aad_device_id)),
    ];
    g.push("SecurityEvent", base.into_iter().chain(fields));
}

/// One network event from `d`'s point of view.
pub(super) fn connection(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    action: &str,
    remote: (&str, i32, &str),
    local_port: i32,
) {
    let report = g.report_id();
    if !g.wants("DeviceNetworkEvents") {
        return;
    }
    let private = remote.0.starts_with("10.") || remote.0.starts_with("192.168.");
    let inbound = action == "InboundConnectionAccepted";
    // A domain controller's services listen on dual-stack sockets: Defender records their IPv4
    // addresses as IPv4-mapped IPv6 ones.
    let mapped = inbound && d.short.starts_with("srv-dc");
    let (local_ip, remote_ip, local_type) = if mapped {
        (
            format!("::ffff:{}", d.ip),
            format!("::ffff:{}", remote.0),
            "FourToSixMapping",
        )
    } else {
        (d.ip.clone(), remote.0.to_string(), "Private")
    };
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s(action)),
        ("RemoteIP", s(remote_ip)),
        ("RemotePort", int(remote.1)),
        ("RemoteUrl", s(remote.2)),
        ("LocalIP", s(local_ip)),
        ("LocalPort", int(local_port)),
        (
            "Protocol",
            s(if inbound || remote.1 != 53 {
                "Tcp"
            } else {
                "Udp"
            }),
        ),
        ("LocalIPType", s(local_type)),
        (
            "RemoteIPType",
            s(if mapped {
                "FourToSixMapping"
            } else if private {
                "Private"
            } else {
                "Public"
            }),
        ),
        ("ReportId", report),
        ("AdditionalFields", dy(json!({}))),
    ]);
    g.push_known("DeviceNetworkEvents", fields);
}

/// Network protection's inspection of a connection's first packets (NetworkSignatureInspected).
pub(super) fn inspected(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    remote: (&str, i32, &str),
    local_port: i32,
) {
    let report = g.report_id();
    if !g.wants("DeviceNetworkEvents") {
        return;
    }
    let (host, path) = remote
        .2
        .split("://")
        .last()
        .unwrap_or_default()
        .split_once('/')
        .unwrap_or((remote.2, ""));
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s("NetworkSignatureInspected")),
        ("RemoteIP", s(remote.0)),
        ("RemotePort", int(remote.1)),
        ("LocalIP", s(&d.ip)),
        ("LocalPort", int(local_port)),
        ("Protocol", s("Tcp")),
        ("LocalIPType", s("Private")),
        ("RemoteIPType", s("Public")),
        ("ReportId", report),
        (
            "AdditionalFields",
            dy(json!({"SignatureName": "HTTP_Client",
                      "SignatureMatchedContent": format!("GET /{path} HTTP/1.1"),
                      "SamplePacketContent": format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0")})),
        ),
    ]);
    g.push_known("DeviceNetworkEvents", fields);
}

/// One logon on `d`.
pub(super) struct Logon<'a> {
    pub time: i64,
    pub user: Option<&'a User>,
    pub logon_type: &'a str,
    pub success: bool,
    pub protocol: &'a str,
    pub remote: Option<&'a Device>,
}

/// The numeric Windows logon type of a Defender logon type.
fn logon_type_number(kind: &str) -> i32 {
    match kind {
        "Interactive" => 2,
        "Network" => 3,
        "Batch" => 4,
        "Service" => 5,
        "Unlock" => 7,
        "NetworkCleartext" => 8,
        "RemoteInteractive" => 10,
        "CachedInteractive" => 11,
        _ => 0,
    }
}

/// A logon: DeviceLogonEvents, its 4624/4625 in SecurityEvent, and (for domain accounts) the
/// authentication Defender for Identity saw at the domain controller.
pub(super) fn logon(g: &mut Gen, d: &Device, l: Logon<'_>) {
    let report = g.report_id();
    let report_n = match report {
        Value::Long(n) => n,
        _ => 0,
    };
    let (name, sid, admin, domain) = match l.user {
        Some(u) => (u.sam.as_str(), u.sid.as_str(), u.admin, NETBIOS),
        None => ("system", "S-1-5-18", true, "nt authority"),
    };
    let remote_port = 49_152 + (report_n % 16_000) as i32;
    if g.wants("DeviceLogonEvents") {
        let fields = device(d)
            .into_iter()
            .chain(initiating(&LSASS, l.time))
            .chain([
                ("Timestamp", dt(l.time)),
                (
                    "ActionType",
                    s(if l.success {
                        "LogonSuccess"
                    } else {
                        "LogonFailed"
                    }),
                ),
                ("LogonType", s(l.logon_type)),
                ("AccountDomain", s(domain)),
                ("AccountName", s(name)),
                ("AccountSid", s(sid)),
                ("Protocol", s(l.protocol)),
                (
                    "FailureReason",
                    s(if l.success {
                        ""
                    } else {
                        "InvalidUserNameOrPassword"
                    }),
                ),
                ("IsLocalAdmin", boolean(admin)),
                ("LogonId", long(0x10_0000 + report_n)),
                (
                    "RemoteDeviceName",
                    s(l.remote.map_or("", |r| r.fqdn.as_str())),
                ),
                ("RemoteIP", s(l.remote.map_or("", |r| r.ip.as_str()))),
                (
                    "RemoteIPType",
                    s(if l.remote.is_some() { "Private" } else { "" }),
                ),
                (
                    "RemotePort",
                    if l.remote.is_some() {
                        int(remote_port)
                    } else {
                        Value::Null
                    },
                ),
                ("ReportId", report),
                (
                    "AdditionalFields",
                    dy(json!({"IsLocalLogon": l.remote.is_none()})),
                ),
            ]);
        g.push_known("DeviceLogonEvents", fields);
    }
    let number = logon_type_number(l.logon_type);
    if !d.linux && g.wants("SecurityEvent") {
        let event_id = if l.success { 4624 } else { 4625 };
        let workstation = l.remote.map_or(d.short.to_ascii_uppercase(), |r| {
            r.short.to_ascii_uppercase()
        });
        let failure = [
            ("Status", s("0xc000006d")),
            ("SubStatus", s("0xc000006a")),
            ("FailureReason", s("%%2313")),
        ];
        security_event(
            g,
            d,
            l.time,
            event_id,
            [
                (
                    "Account",
                    s(format!("{}\\{name}", domain.to_ascii_uppercase())),
                ),
                (
                    "AccountType",
                    s(if l.user.is_some() { "User" } else { "Machine" }),
                ),
                (
                    "TargetAccount",
                    s(format!("{}\\{name}", domain.to_ascii_uppercase())),
                ),
                ("TargetUserName", s(name)),
                ("TargetDomainName", s(domain.to_ascii_uppercase())),
                ("TargetUserSid", s(sid)),
                ("TargetLogonId", s(format!("0x{:x}", 0x10_0000 + report_n))),
                (
                    "SubjectUserName",
                    s(format!("{}$", d.short.to_ascii_uppercase())),
                ),
                ("SubjectDomainName", s(NETBIOS.to_ascii_uppercase())),
                ("SubjectUserSid", s("S-1-5-18")),
                ("LogonType", int(number)),
                ("LogonTypeName", s(format!("{number} - {}", l.logon_type))),
                (
                    "LogonProcessName",
                    s(if number == 10 || number == 2 {
                        "User32 "
                    } else {
                        "NtLmSsp "
                    }),
                ),
                (
                    "AuthenticationPackageName",
                    s(if l.protocol == "NTLM" {
                        "NTLM"
                    } else {
                        "Negotiate"
                    }),
                ),
                ("IpAddress", s(l.remote.map_or("-", |r| r.ip.as_str()))),
                (
                    "IpPort",
                    s(if l.remote.is_some() {
                        remote_port.to_string()
                    } else {
                        "-".into()
                    }),
                ),
                ("WorkstationName", s(workstation)),
                ("ElevatedToken", s(if admin { "%%1842" } else { "%%1843" })),
                ("ProcessName", s("C:\\Windows\\System32\\svchost.exe")),
            ]
            .into_iter()
            .chain(failure.into_iter().filter(|_| !l.success)),
        );
    }
    // Domain accounts authenticate at a domain controller, which Defender for Identity watches.
    if let Some(u) = l.user
        && number != 7
        && g.wants("IdentityLogonEvents")
    {
        let (kind, application) = match number {
            3 => ("Resource access", "Active Directory"),
            10 => ("Remote desktop", "Active Directory"),
            _ => ("Interactive", "Active Directory"),
        };
        g.push(
            "IdentityLogonEvents",
            [
                ("Timestamp", dt(l.time)),
                (
                    "ActionType",
                    s(if l.success { "LogonSuccess" } else { "LogonFailed" }),
                ),
                ("Application", s(application)),
                ("LogonType", s(kind)),
                ("Protocol", s(if l.protocol == "NTLM" { "Ntlm" } else { "Kerberos" })),
                (
                    "FailureReason",
                    s(if l.success { "" } else { "WrongPassword" }),
                ),
                ("AccountName", s(&u.sam)),
                ("AccountDomain", s(DOMAIN)),
                ("AccountUpn", s(&u.upn)),
                ("AccountSid", s(&u.sid)),
                ("AccountObjectId", s(&u.object_id)),
                ("AccountDisplayName", s(&u.display_name)),
                ("DeviceName", s(l.remote.map_or(d.fqdn.as_str(), |r| r.fqdn.as_str()))),
                ("DeviceType", s(if l.remote.is_some_and(|r| r.server) || (l.remote.is_none() && d.server) { "Server" } else { "Desktop" })),
                ("OSPlatform", s("Windows")),
                ("IPAddress", s(l.remote.map_or(d.ip.as_str(), |r| r.ip.as_str()))),
                ("Port", int(remote_port)),
                ("DestinationDeviceName", s("srv-dc01.contoso.com")),
                ("DestinationIPAddress", s("10.20.0.10")),
                ("DestinationPort", int(if l.protocol == "NTLM" { 445 } else { 88 })),
                ("TargetDeviceName", s(&d.fqdn)),
                ("Location", s("")),
                ("Isp", s("")),
                ("ReportId", s(format!("{report_n}"))),
                (
                    "AdditionalFields",
                    dy(json!({"Count": "1", "Category": "Initial Access",
                              "TO.DEVICE": d.short, "FROM.DEVICE": l.remote.map_or(d.short.as_str(), |r| r.short.as_str()),
                              "ACTOR.DEVICE": ""})),
                ),
            ],
        );
    }
}

/// One file event on `d`.
pub(super) struct FileEvent<'a> {
    pub time: i64,
    pub action: &'a str,
    pub name: &'a str,
    pub folder: &'a str,
    pub size: i64,
    pub origin_url: &'a str,
    /// `(account, source IP)` when written over SMB from another machine.
    pub remote: Option<(&'a User, &'a str)>,
}

pub(super) fn file_event(g: &mut Gen, d: &Device, p: &Proc<'_>, f: FileEvent<'_>) {
    let report = g.report_id();
    if !g.wants("DeviceFileEvents") {
        return;
    }
    let (sha1, sha256, md5) = file_hashes(f.name);
    let (req_name, req_domain, req_sid, req_ip, req_proto, share) = match f.remote {
        Some((u, ip)) => (
            u.sam.as_str(),
            NETBIOS,
            u.sid.as_str(),
            ip,
            "SMB",
            f.folder.rsplit('\\').next().unwrap_or_default(),
        ),
        None => ("", "", "", "", "Local", ""),
    };
    let fields = device(d).into_iter().chain(initiating(p, f.time)).chain([
        ("Timestamp", dt(f.time)),
        ("ActionType", s(f.action)),
        ("FileName", s(f.name)),
        ("FolderPath", s(format!("{}\\{}", f.folder, f.name))),
        ("SHA1", s(sha1)),
        ("SHA256", s(sha256)),
        ("MD5", s(md5)),
        ("FileSize", long(f.size)),
        ("FileOriginUrl", s(f.origin_url)),
        (
            "FileOriginReferrerUrl",
            s(f.origin_url
                .strip_prefix("https://")
                .and_then(|r| r.split('/').next())
                .map(|host| format!("https://{host}/"))
                .unwrap_or_default()),
        ),
        (
            "FileOriginIP",
            s(f.origin_url
                .strip_prefix("http://")
                .and_then(|r| r.split('/').next())
                .filter(|h| h.chars().all(|c| c.is_ascii_digit() || c == '.'))
                .unwrap_or("")),
        ),
        ("RequestAccountName", s(req_name)),
        ("RequestAccountDomain", s(req_domain)),
        ("RequestAccountSid", s(req_sid)),
        ("RequestSourceIP", s(req_ip)),
        ("RequestProtocol", s(req_proto)),
        ("ShareName", s(share)),
        ("IsAzureInfoProtectionApplied", boolean(false)),
        ("ReportId", report),
        ("AdditionalFields", dy(json!({"FileType": f.name.rsplit('.').next().unwrap_or_default().to_ascii_uppercase()}))),
    ]);
    g.push_known("DeviceFileEvents", fields);
}

/// One miscellaneous device event (DeviceEvents): `fields` carry what the action type records.
pub(super) fn device_event<'a>(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    action: &str,
    fields: impl IntoIterator<Item = (&'a str, Value)>,
) {
    let report = g.report_id();
    if !g.wants("DeviceEvents") {
        return;
    }
    let all = device(d)
        .into_iter()
        .chain(initiating(p, time))
        .chain([
            ("Timestamp", dt(time)),
            ("ActionType", s(action)),
            ("ReportId", report),
            (
                "MachineGroup",
                s(if d.server { "Servers" } else { "Workstations" }),
            ),
        ])
        .chain(fields);
    g.push_known("DeviceEvents", all);
}

/// One registry event (DeviceRegistryEvents).
pub(super) fn registry_event(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    action: &str,
    (key, value_name, value_type, data): (&str, &str, &str, &str),
) {
    let report = g.report_id();
    if !g.wants("DeviceRegistryEvents") {
        return;
    }
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s(action)),
        ("RegistryKey", s(key)),
        ("RegistryValueName", s(value_name)),
        ("RegistryValueType", s(value_type)),
        ("RegistryValueData", s(data)),
        ("ReportId", report),
    ]);
    g.push_known("DeviceRegistryEvents", fields);
}

/// One image (DLL) load (DeviceImageLoadEvents).
pub(super) fn image_load(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    dll: &str,
    folder: &str,
) {
    let report = g.report_id();
    if !g.wants("DeviceImageLoadEvents") {
        return;
    }
    let (sha1, sha256, md5) = file_hashes(dll);
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s("ImageLoaded")),
        ("FileName", s(dll)),
        ("FolderPath", s(format!("{folder}\\{dll}"))),
        ("SHA1", s(sha1)),
        ("SHA256", s(sha256)),
        ("MD5", s(md5)),
        (
            "FileSize",
            long(80_000 + (dll.len() as i64 * 7_919) % 3_000_000),
        ),
        ("ReportId", report),
    ]);
    g.push_known("DeviceImageLoadEvents", fields);
}

/// One Entra ID directory change: AuditLogs, and CloudAppEvents as Defender for Cloud Apps sees it.
pub(super) struct Audit<'a> {
    pub time: i64,
    pub operation: &'a str,
    pub category: &'a str,
    pub service: &'a str,
    /// The user or app that acted: `InitiatedBy`.
    pub actor: Json,
    /// `(display name, UPN, object id)` of the actor, for CloudAppEvents.
    pub actor_account: (&'a str, &'a str, &'a str),
    pub actor_ip: &'a str,
    pub targets: Json,
    pub details: Json,
    pub result: &'a str,
    pub result_reason: &'a str,
}

pub(super) fn audit(g: &mut Gen, rng: &mut Rng, a: Audit<'_>) {
    let correlation = rng.guid_string();
    let id = format!("Directory_{}", rng.hex(12));
    let operation_type = if a.operation.starts_with("Add")
        || a.operation.starts_with("Invite")
        || a.operation.starts_with("Consent")
        || a.operation.contains("registered")
    {
        "Add"
    } else if a.operation.starts_with("Delete") || a.operation.starts_with("Remove") {
        "Delete"
    } else {
        "Update"
    };
    if g.wants("AuditLogs") {
        g.push(
            "AuditLogs",
            [
                ("SourceSystem", s("Azure AD")),
                ("TimeGenerated", dt(a.time)),
                ("OperationName", s(a.operation)),
                ("OperationVersion", s("1.0")),
                ("Category", s(a.category)),
                ("ResultType", s("")),
                ("ResultSignature", s("None")),
                (
                    "ResultDescription",
                    s(if a.result == "success" { "" } else { "Failure" }),
                ),
                ("DurationMs", long(0)),
                ("CorrelationId", s(&correlation)),
                ("Identity", s(a.actor_account.0)),
                ("Level", s("4")),
                ("Location", s("EU")),
                ("AdditionalDetails", dy(a.details.clone())),
                ("Id", s(&id)),
                ("InitiatedBy", dy(a.actor.clone())),
                ("LoggedByService", s(a.service)),
                ("Result", s(a.result)),
                ("ResultReason", s(a.result_reason)),
                ("TargetResources", dy(a.targets.clone())),
                ("AADTenantId", s(super::org::TENANT_ID)),
                ("ActivityDisplayName", s(a.operation)),
                ("ActivityDateTime", dt(a.time)),
                ("AADOperationType", s(operation_type)),
            ],
        );
    }
    if g.wants("CloudAppEvents") {
        let raw = json!({"CreationTime": super::iso(a.time), "Id": id, "Operation": format!("{}.", a.operation),
                         "OrganizationId": super::org::TENANT_ID, "RecordType": 8, "ResultStatus": a.result,
                         "UserKey": a.actor_account.2, "UserType": 0, "Workload": "AzureActiveDirectory",
                         "ClientIP": a.actor_ip, "ObjectId": a.targets.get(0).and_then(|t| t.get("userPrincipalName").or(t.get("displayName"))).cloned().unwrap_or(Json::Null),
                         "UserId": a.actor_account.1, "AzureActiveDirectoryEventType": 1,
                         "ModifiedProperties": a.targets.get(0).and_then(|t| t.get("modifiedProperties")).cloned().unwrap_or(json!([])),
                         "Target": a.targets, "Actor": [{"ID": a.actor_account.1, "Type": 5}]});
        cloud_app_event(
            g,
            CloudApp {
                time: a.time,
                action: &format!("{}.", a.operation),
                application: "Office 365",
                application_id: 11161,
                account: a.actor_account,
                ip: a.actor_ip,
                activity_type: if operation_type == "Add" {
                    "Create"
                } else {
                    "Edit"
                },
                object_name: "",
                object_type: "Account",
                raw,
                user_agent: "",
                admin: a.actor_account.1.is_empty() || operation_type != "Update",
            },
        );
    }
}

/// One CloudAppEvents row.
pub(super) struct CloudApp<'a> {
    pub time: i64,
    pub action: &'a str,
    pub application: &'a str,
    pub application_id: i32,
    /// `(display name, UPN, object id)`.
    pub account: (&'a str, &'a str, &'a str),
    pub ip: &'a str,
    pub activity_type: &'a str,
    pub object_name: &'a str,
    pub object_type: &'a str,
    pub raw: Json,
    pub user_agent: &'a str,
    pub admin: bool,
}

pub(super) fn cloud_app_event(g: &mut Gen, c: CloudApp<'_>) {
    let office = OFFICES.iter().find(|o| o.egress_ip == c.ip);
    let (country, city, isp) = match office {
        Some(o) => (o.country, o.city, "Contoso Networks"),
        None if c.ip.starts_with("203.0.113.") => ("NL", "Amsterdam", "Example Hosting B.V."),
        None => ("US", "Boydton", "Microsoft Azure"),
    };
    let report = format!(
        "{}{}",
        c.raw.get("Id").and_then(Json::as_str).unwrap_or("report"),
        c.time % 100_000
    );
    g.push(
        "CloudAppEvents",
        [
            ("Timestamp", dt(c.time)),
            ("ActionType", s(c.action)),
            ("Application", s(c.application)),
            ("ApplicationId", int(c.application_id)),
            ("AppInstanceId", int(0)),
            ("AccountObjectId", s(c.account.2)),
            ("AccountId", s(c.account.2)),
            ("AccountDisplayName", s(c.account.0)),
            ("IsAdminOperation", boolean(c.admin)),
            ("DeviceType", s(if c.user_agent.is_empty() { "" } else { "Desktop" })),
            (
                "OSPlatform",
                s(if c.user_agent.contains("Linux") {
                    "Linux"
                } else if c.user_agent.is_empty() {
                    ""
                } else {
                    "Windows 10"
                }),
            ),
            ("IPAddress", s(c.ip)),
            ("IsAnonymousProxy", boolean(false)),
            ("CountryCode", s(country)),
            ("City", s(city)),
            ("Isp", s(isp)),
            ("UserAgent", s(c.user_agent)),
            ("ActivityType", s(c.activity_type)),
            (
                "ActivityObjects",
                dy(json!([{"Type": c.object_type, "Name": c.object_name, "Role": "Target object"}])),
            ),
            ("ObjectName", s(c.object_name)),
            ("ObjectType", s(c.object_type)),
            ("ObjectId", s(c.object_name)),
            ("ReportId", s(report)),
            ("AccountType", s(if c.admin { "Admin" } else { "Regular" })),
            ("IsExternalUser", boolean(c.account.1.contains("#EXT#"))),
            (
                "IsImpersonated",
                boolean(matches!(c.action, "SendAs" | "SendOnBehalf")),
            ),
            ("IPTags", dy(json!([]))),
            ("IPCategory", s(if office.is_some() { "Corporate" } else { "" })),
            ("UserAgentTags", dy(json!([]))),
            ("RawEventData", dy(c.raw)),
            ("AdditionalFields", dy(json!({}))),
            ("LastSeenForUser", dy(json!({}))),
            ("UncommonForUser", dy(json!([]))),
            ("AuditSource", s("Defender for Cloud Apps app connector")),
            ("SessionData", dy(json!({}))),
            ("SourceSystem", s("")),
        ],
    );
}

/// One Microsoft 365 audit record: OfficeActivity (the Sentinel connector) and CloudAppEvents
/// (Defender for Cloud Apps).
pub(super) struct O365<'a> {
    pub time: i64,
    pub user: Signer<'a>,
    pub operation: &'a str,
    /// `Exchange`, `SharePoint`, `OneDrive` or `MicrosoftTeams`.
    pub workload: &'a str,
    pub record_type: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    /// Site URL for SharePoint and OneDrive.
    pub site: &'a str,
    pub file: &'a str,
    /// The cmdlet's parameters (Exchange admin records) as `[{"Name", "Value"}]`.
    pub parameters: Json,
    /// Extra OfficeActivity columns.
    pub extra: Vec<(&'a str, Value)>,
}

pub(super) fn office_activity(g: &mut Gen, rng: &mut Rng, o: O365<'_>) {
    let id = rng.guid_string();
    let files = matches!(o.workload, "SharePoint" | "OneDrive");
    let object = if files {
        format!("{}Shared Documents/{}", o.site, o.file)
    } else if o.workload == "Exchange" {
        o.user.upn.to_string()
    } else {
        o.file.to_string()
    };
    let client_ip = if o.workload == "Exchange" && !o.ip.is_empty() {
        format!("{}:{}", o.ip, 40_000 + rng.below(20_000))
    } else {
        o.ip.to_string()
    };
    let params = if o.parameters.is_null() {
        String::new()
    } else {
        o.parameters.to_string()
    };
    if g.wants("OfficeActivity") {
        let fields = [
            ("TimeGenerated", dt(o.time)),
            ("RecordType", s(o.record_type)),
            ("Operation", s(o.operation)),
            ("OrganizationId", s(super::org::TENANT_ID)),
            (
                "UserType",
                s(if o.user.guest { "Guest" } else { "Regular" }),
            ),
            ("UserKey", s(o.user.object_id)),
            ("OfficeWorkload", s(o.workload)),
            (
                "ResultStatus",
                s(if o.workload == "Exchange" {
                    "True"
                } else {
                    "Succeeded"
                }),
            ),
            ("OfficeObjectId", s(&object)),
            ("UserId", s(o.user.upn)),
            ("ClientIP", s(&client_ip)),
            ("UserAgent", s(o.user_agent)),
            ("Site_Url", s(o.site)),
            (
                "SourceRelativeUrl",
                s(if files { "Shared Documents" } else { "" }),
            ),
            ("SourceFileName", s(o.file)),
            (
                "SourceFileExtension",
                s(if files {
                    o.file.rsplit_once('.').map_or("", |(_, e)| e)
                } else {
                    ""
                }),
            ),
            ("ItemType", s(if files { "File" } else { "" })),
            ("EventSource", s(if files { "SharePoint" } else { "" })),
            ("Parameters", s(&params)),
            (
                "MailboxOwnerUPN",
                s(if o.workload == "Exchange" {
                    o.user.upn
                } else {
                    ""
                }),
            ),
            ("ExternalAccess", s("false")),
            ("OfficeId", s(&id)),
            ("OfficeTenantId", s(super::org::TENANT_ID)),
            ("SourceSystem", s("OfficeActivityManager")),
        ];
        g.push("OfficeActivity", fields.into_iter().chain(o.extra));
    }
    if g.wants("CloudAppEvents") {
        let (application, app_id) = match o.workload {
            "Exchange" => ("Microsoft Exchange Online", 20893),
            "SharePoint" => ("Microsoft SharePoint Online", 20892),
            "OneDrive" => ("Microsoft OneDrive for Business", 15600),
            _ => ("Microsoft Teams", 28375),
        };
        let mut raw = json!({"CreationTime": super::iso(o.time), "Id": id, "Operation": o.operation,
                             "OrganizationId": super::org::TENANT_ID, "RecordType": o.record_type,
                             "UserKey": o.user.object_id, "Workload": o.workload, "ClientIP": client_ip,
                             "UserId": o.user.upn, "ObjectId": object});
        if !params.is_empty() {
            raw["Parameters"] = o.parameters.clone();
        }
        if files {
            raw["SourceFileName"] = json!(o.file);
            raw["SiteUrl"] = json!(o.site);
        }
        let activity = match o.operation {
            "FileDownloaded" | "FileSyncDownloadedFull" => "Download",
            "FileUploaded" => "Upload",
            "FileAccessed" | "FilePreviewed" | "MailItemsAccessed" => "Read",
            "Send" => "Send",
            _ => "Edit",
        };
        cloud_app_event(
            g,
            CloudApp {
                time: o.time,
                action: o.operation,
                application,
                application_id: app_id,
                account: (o.user.display_name, o.user.upn, o.user.object_id),
                ip: o.ip,
                activity_type: activity,
                object_name: if files { o.file } else { o.user.upn },
                object_type: if files { "File" } else { "Mailbox" },
                raw,
                user_agent: o.user_agent,
                admin: o.record_type == "ExchangeAdmin" && o.operation != "New-InboxRule",
            },
        );
    }
}

/// One Palo Alto traffic log, as CEF lands in CommonSecurityLog.
pub(super) fn firewall_row(
    time: i64,
    (src, src_port): (&str, i32),
    (dst, dst_port): (&str, i32),
    app: &str,
    (sent, received): (i64, i64),
    user: &str,
) -> [(&'static str, Value); 28] {
    let outbound = !dst.starts_with("10.");
    [
        ("TimeGenerated", dt(time)),
        ("DeviceVendor", s("Palo Alto Networks")),
        ("DeviceProduct", s("PAN-OS")),
        ("DeviceVersion", s("11.1.2")),
        ("DeviceEventClassID", s("end")),
        ("Activity", s("TRAFFIC")),
        ("LogSeverity", s("1")),
        ("DeviceAction", s("allow")),
        ("SimplifiedDeviceAction", s("Allow")),
        ("ApplicationProtocol", s(app)),
        (
            "CommunicationDirection",
            s(if outbound { "Outbound" } else { "Internal" }),
        ),
        ("DeviceName", s("pa-fw01")),
        ("DeviceInboundInterface", s("ethernet1/2")),
        (
            "DeviceOutboundInterface",
            s(if outbound {
                "ethernet1/1"
            } else {
                "ethernet1/3"
            }),
        ),
        ("SourceIP", s(src)),
        ("SourcePort", int(src_port)),
        ("SourceUserName", s(user)),
        (
            "SourceTranslatedAddress",
            s(if outbound { OFFICES[0].egress_ip } else { "" }),
        ),
        ("DestinationIP", s(dst)),
        ("DestinationPort", int(dst_port)),
        ("Protocol", s("TCP")),
        ("SentBytes", long(sent)),
        ("ReceivedBytes", long(received)),
        ("EventCount", int(1)),
        ("Computer", s("syslog-fwd01")),
        ("CollectorHostName", s("syslog-fwd01")),
        ("ReceiptTime", s(super::iso(time))),
        ("SourceSystem", s("OpsManager")),
    ]
}

/// One message through Exchange Online Protection: EmailEvents, and its attachments and URLs in
/// EmailAttachmentInfo and EmailUrlInfo.
pub(super) struct Mail<'a> {
    pub time: i64,
    pub network_id: &'a str,
    pub internet_id: &'a str,
    pub from: &'a str,
    pub from_name: &'a str,
    pub sender_ip: &'a str,
    /// `(address, object id)` of the recipient.
    pub to: (&'a str, &'a str),
    pub subject: &'a str,
    pub cluster: i64,
    pub direction: &'a str,
    pub delivery: (&'a str, &'a str),
    pub threats: &'a str,
    pub detection: &'a str,
    pub confidence: &'a str,
    pub bcl: i32,
    pub attachments: &'a [(&'a str, i64)],
    pub urls: &'a [&'a str],
    pub auth: &'a str,
}

pub(super) fn mail(g: &mut Gen, m: Mail<'_>) {
    let domain = m.from.rsplit('@').next().unwrap_or_default();
    let report = format!("{}-{}", m.network_id, m.to.0.len());
    g.push(
        "EmailEvents",
        [
            ("Timestamp", dt(m.time)),
            ("NetworkMessageId", s(m.network_id)),
            ("InternetMessageId", s(m.internet_id)),
            ("SenderMailFromAddress", s(m.from)),
            ("SenderFromAddress", s(m.from)),
            ("SenderDisplayName", s(m.from_name)),
            ("SenderMailFromDomain", s(domain)),
            ("SenderFromDomain", s(domain)),
            ("SenderIPv4", s(m.sender_ip)),
            ("RecipientEmailAddress", s(m.to.0)),
            ("RecipientObjectId", s(m.to.1)),
            ("Subject", s(m.subject)),
            ("EmailClusterId", long(m.cluster)),
            ("EmailDirection", s(m.direction)),
            ("DeliveryAction", s(m.delivery.0)),
            ("DeliveryLocation", s(m.delivery.1)),
            ("LatestDeliveryAction", s(m.delivery.0)),
            ("LatestDeliveryLocation", s(m.delivery.1)),
            ("ThreatTypes", s(m.threats)),
            ("DetectionMethods", s(m.detection)),
            ("ConfidenceLevel", s(m.confidence)),
            ("BulkComplaintLevel", int(m.bcl)),
            (
                "EmailAction",
                s(match m.delivery.0 {
                    "Junked" => "Move message to junk mail folder",
                    "Blocked" => "Send to quarantine",
                    _ => "No action taken",
                }),
            ),
            ("AttachmentCount", int(m.attachments.len() as i32)),
            ("UrlCount", int(m.urls.len() as i32)),
            ("EmailLanguage", s("en")),
            ("AuthenticationDetails", s(m.auth)),
            ("ReportId", s(&report)),
            ("AdditionalFields", dy(json!({}))),
        ],
    );
    for &(name, size) in m.attachments {
        let (_, sha256, _) = file_hashes(name);
        g.push(
            "EmailAttachmentInfo",
            [
                ("Timestamp", dt(m.time)),
                ("NetworkMessageId", s(m.network_id)),
                ("SenderFromAddress", s(m.from)),
                ("SenderDisplayName", s(m.from_name)),
                ("RecipientEmailAddress", s(m.to.0)),
                ("RecipientObjectId", s(m.to.1)),
                ("FileName", s(name)),
                ("FileType", s(name.rsplit('.').next().unwrap_or_default())),
                ("SHA256", s(sha256)),
                ("FileSize", long(size)),
                ("ThreatTypes", s(m.threats)),
                ("DetectionMethods", s(m.detection)),
                ("ReportId", s(&report)),
            ],
        );
    }
    for (k, url) in m.urls.iter().enumerate() {
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_default();
        g.push(
            "EmailUrlInfo",
            [
                ("Timestamp", dt(m.time)),
                ("NetworkMessageId", s(m.network_id)),
                ("Url", s(*url)),
                ("UrlDomain", s(host)),
                ("UrlLocation", s(if k == 0 { "Body" } else { "Attachment" })),
                ("ReportId", s(&report)),
            ],
        );
    }
}
