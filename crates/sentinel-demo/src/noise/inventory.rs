//! What the agents report about the machines: DeviceInfo, DeviceNetworkInfo, Heartbeat and Intune's
//! device inventory; and Defender Vulnerability Management's software, vulnerability,
//! configuration and browser extension inventory.

use serde_json::json;

use super::super::org::{OFFICES, Org};
use super::super::{DAY, Gen, HOUR, Rng, SPAN, boolean, dt, dy, long, real, s};

pub(super) fn inventory(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    let per_device = (n / org.devices.len()).max(1) as i64;
    let interval = SPAN / per_device;
    for d in &org.devices {
        let computer_id = rng.guid_string();
        let offset = rng.range(0, interval.max(1));
        let users: Vec<&super::super::org::User> = org
            .users
            .iter()
            .filter(|u| u.device.is_some_and(|i| org.devices[i].short == d.short))
            .collect();
        let logged_on = json!(
            users
                .iter()
                .map(|u| json!({"UserName": u.sam, "DomainName": "CONTOSO", "Sid": u.sid}))
                .collect::<Vec<_>>()
        );
        let public_ip = OFFICES[d.office].egress_ip;
        for k in 0..per_device {
            let time = g.now - k * interval - offset;
            g.push(
                "Heartbeat",
                [
                    (
                        "SourceSystem",
                        s(if d.linux { "Linux" } else { "OpsManager" }),
                    ),
                    ("TimeGenerated", dt(time)),
                    ("ComputerIP", s(public_ip)),
                    ("Computer", s(&d.short)),
                    ("Category", s("Azure Monitor Agent")),
                    ("OSType", s(if d.linux { "Linux" } else { "Windows" })),
                    (
                        "OSName",
                        s(if d.linux {
                            "Ubuntu"
                        } else if d.server {
                            "Windows Server 2022 Datacenter"
                        } else {
                            "Windows 11 Enterprise"
                        }),
                    ),
                    ("OSMajorVersion", s(if d.linux { "22" } else { "10" })),
                    ("OSMinorVersion", s(if d.linux { "04" } else { "0" })),
                    ("Version", s("1.33.0.0")),
                    ("IsGatewayInstalled", boolean(false)),
                    ("RemoteIPCountry", s("United States")),
                    ("RemoteIPLatitude", real(OFFICES[0].lat)),
                    ("RemoteIPLongitude", real(OFFICES[0].lon)),
                    ("ComputerEnvironment", s("Non-Azure")),
                    ("Solutions", s("security, changeTracking")),
                    ("ComputerPrivateIPs", dy(json!([d.ip]))),
                    ("SCAgentChannel", s("Direct")),
                    ("VMUUID", s(&computer_id)),
                ],
            );
            // Defender reports the device every few hours and on change.
            if k % 4 == 0 {
                g.push(
                    "DeviceInfo",
                    [
                        ("Timestamp", dt(time)),
                        ("DeviceId", s(&d.device_id)),
                        ("DeviceName", s(&d.fqdn)),
                        ("ClientVersion", s("10.8760.22621.1016")),
                        ("PublicIP", s(public_ip)),
                        ("OSArchitecture", s("64-bit")),
                        ("OSPlatform", s(d.os_platform())),
                        ("OSBuild", long(d.os_build())),
                        ("IsAzureADJoined", boolean(!d.server)),
                        (
                            "JoinType",
                            s(if d.server {
                                "Domain Joined"
                            } else {
                                "Hybrid Azure AD Join"
                            }),
                        ),
                        ("AadDeviceId", s(&d.aad_device_id)),
                        ("LoggedOnUsers", s(logged_on.to_string())),
                        ("OSVersion", s(d.os_version())),
                        (
                            "MachineGroup",
                            s(if d.server { "Servers" } else { "Workstations" }),
                        ),
                        ("ReportId", long(time % 1_000_000)),
                        ("OnboardingStatus", s("Onboarded")),
                        ("AdditionalFields", dy(json!({}))),
                        ("DeviceCategory", s("Endpoint")),
                        (
                            "DeviceType",
                            s(if d.server { "Server" } else { "Workstation" }),
                        ),
                        (
                            "Model",
                            s(if d.server {
                                "Virtual Machine"
                            } else {
                                "Latitude 7440"
                            }),
                        ),
                        (
                            "Vendor",
                            s(if d.server {
                                "Microsoft Corporation"
                            } else {
                                "Dell Inc."
                            }),
                        ),
                        ("OSDistribution", s(if d.linux { "Ubuntu" } else { "" })),
                        (
                            "OSVersionInfo",
                            s(if d.linux {
                                "22.04"
                            } else if d.server {
                                ""
                            } else {
                                "23H2"
                            }),
                        ),
                        ("IsInternetFacing", boolean(d.short == "srv-web01")),
                        ("SensorHealthState", s("Active")),
                        ("IsExcluded", boolean(false)),
                        ("ExposureLevel", s(if d.server { "Medium" } else { "Low" })),
                        ("AssetValue", s(if d.server { "High" } else { "Normal" })),
                        ("DeviceManualTags", s("[]")),
                        ("DeviceDynamicTags", s("[]")),
                        ("ConnectivityType", s("Streamlined")),
                        ("TenantId", s(super::super::org::TENANT_ID)),
                        ("SourceSystem", s("")),
                    ],
                );
            }
            if k % 12 == 0 {
                let gateway = if d.server { "10.20.0.1" } else { "10.10.1.254" };
                g.push(
                    "DeviceNetworkInfo",
                    [
                        ("Timestamp", dt(time)),
                        ("DeviceId", s(&d.device_id)),
                        ("DeviceName", s(&d.fqdn)),
                        ("NetworkAdapterName", s(if d.server { "Ethernet" } else { "Wi-Fi" })),
                        ("MacAddress", s(&d.mac)),
                        ("NetworkAdapterType", s(if d.server { "Ethernet" } else { "Wireless80211" })),
                        ("NetworkAdapterStatus", s("Up")),
                        ("TunnelType", s("None")),
                        (
                            "ConnectedNetworks",
                            s(json!([{"Name": "contoso.com", "Description": "contoso.com", "IsConnectedToInternet": true, "Category": "Domain"}]).to_string()),
                        ),
                        ("DnsAddresses", s(json!(["10.20.0.10", "10.20.0.11"]).to_string())),
                        ("IPv4Dhcp", s(if d.server { "" } else { "10.20.0.10" })),
                        ("DefaultGateways", s(json!([gateway]).to_string())),
                        (
                            "IPAddresses",
                            s(json!([{"IPAddress": d.ip, "SubnetPrefix": 24, "AddressType": "Private"}]).to_string()),
                        ),
                        ("ReportId", long(time % 1_000_000 + 7)),
                        ("NetworkAdapterVendor", s("Intel Corporation")),
                        ("TenantId", s(super::super::org::TENANT_ID)),
                        ("SourceSystem", s("")),
                    ],
                );
            }
        }
    }
    // Devices Defender discovered on the network but that run no sensor.
    let discovered = [
        (
            "hp-floor2-printer",
            "Printer",
            "Network device",
            "HP",
            "LaserJet M607",
            "10.10.1.200",
            "Can be onboarded",
        ),
        (
            "iphone-mwilson",
            "Mobile",
            "Endpoint",
            "Apple",
            "iPhone 15",
            "10.10.1.201",
            "Unsupported",
        ),
        (
            "wks-guest01",
            "Workstation",
            "Endpoint",
            "Lenovo",
            "ThinkPad T14",
            "10.10.1.202",
            "Can be onboarded",
        ),
        (
            "cam-lobby01",
            "Camera",
            "IoT",
            "Axis",
            "P3245-LV",
            "10.10.1.203",
            "Unsupported",
        ),
    ];
    for (k, (name, kind, category, vendor, model, ip, status)) in discovered.into_iter().enumerate()
    {
        for day in 0..14 {
            g.push(
                "DeviceInfo",
                [
                    ("Timestamp", dt(g.now - day * DAY - (k as i64 + 1) * HOUR)),
                    ("DeviceId", s(format!("{:040x}", 0xd15c_0000 + k))),
                    ("DeviceName", s(name)),
                    ("PublicIP", s(OFFICES[0].egress_ip)),
                    ("OnboardingStatus", s(status)),
                    ("DeviceCategory", s(category)),
                    ("DeviceType", s(kind)),
                    ("Vendor", s(vendor)),
                    ("Model", s(model)),
                    ("MachineGroup", s("UnassignedGroup")),
                    ("ReportId", long(day * 100 + k as i64)),
                    ("AdditionalFields", dy(json!({"IPAddress": ip}))),
                    ("TenantId", s(super::super::org::TENANT_ID)),
                ],
            );
        }
    }
    // Intune's daily device export.
    for day in 0..14 {
        let time = g.now - day * DAY - 2 * HOUR;
        for (i, d) in org.devices.iter().enumerate().filter(|(_, d)| !d.server) {
            let owner = &org.users[i];
            g.push(
                "IntuneDevices",
                [
                    ("TimeGenerated", dt(time)),
                    ("SourceSystem", s("Microsoft Intune")),
                    ("OperationName", s("Devices")),
                    ("Result", s("Success")),
                    ("AADTenantId", s(super::super::org::TENANT_ID)),
                    ("BatchId", s(format!("{day}-{}", rng.hex(8)))),
                    ("CategoryName", s("Laptops")),
                    (
                        "CompliantState",
                        s(if i == 7 && day < 3 {
                            "Noncompliant"
                        } else {
                            "Compliant"
                        }),
                    ),
                    ("CreatedDate", s(super::super::iso(g.now - 300 * DAY))),
                    ("DeviceId", s(&d.aad_device_id)),
                    ("DeviceName", s(&d.short)),
                    ("DeviceRegistrationState", s("Registered")),
                    ("DeviceState", s("Active")),
                    ("EncryptionStatusString", s("True")),
                    ("GraphDeviceIsManaged", boolean(true)),
                    ("IntuneAccountId", s(super::super::org::TENANT_ID)),
                    ("JailBroken", s("False")),
                    ("JoinType", s("Hybrid Azure AD joined")),
                    ("LastContact", s(super::super::iso(time - HOUR))),
                    ("ManagedBy", s("Intune")),
                    (
                        "ManagedDeviceName",
                        s(format!("{}_Windows_{}", owner.sam, d.short)),
                    ),
                    ("Manufacturer", s("Dell Inc.")),
                    ("Model", s("Latitude 7440")),
                    ("OS", s("Windows")),
                    ("OSVersion", s(d.os_version())),
                    ("Ownership", s("Corporate")),
                    ("PrimaryUser", s(&owner.object_id)),
                    ("ReferenceId", s(&d.aad_device_id)),
                    ("SerialNumber", s(format!("DL{:06}", 400_000 + i))),
                    ("SkuFamily", s("Enterprise")),
                    (
                        "StorageFree",
                        long(120_000_000_000 - i as i64 * 1_000_000_000),
                    ),
                    ("StorageTotal", long(512_000_000_000)),
                    ("UPN", s(&owner.upn)),
                    ("UserEmail", s(&owner.upn)),
                    ("UserName", s(&owner.display_name)),
                    ("Stats", dy(json!({"RecordCount": 24}))),
                ],
            );
        }
    }
}

/// Installed software: (vendor, name, version, end of support, CPE).
const SOFTWARE: [(&str, &str, &str, &str); 10] = [
    (
        "microsoft",
        "windows_11",
        "10.0.22631.4317",
        "cpe:2.3:o:microsoft:windows_11:-:*:*:*:*:*:*:*",
    ),
    (
        "microsoft",
        "office",
        "16.0.17928.20156",
        "cpe:2.3:a:microsoft:office:-:*:*:*:*:*:*:*",
    ),
    (
        "microsoft",
        "edge_chromium-based",
        "130.0.2849.56",
        "cpe:2.3:a:microsoft:edge_chromium-based:-:*:*:*:*:*:*:*",
    ),
    (
        "google",
        "chrome",
        "129.0.6668.90",
        "cpe:2.3:a:google:chrome:-:*:*:*:*:*:*:*",
    ),
    (
        "microsoft",
        "teams",
        "24215.1007.3082.1590",
        "cpe:2.3:a:microsoft:teams:-:*:*:*:*:*:*:*",
    ),
    (
        "videolan",
        "vlc_media_player",
        "3.0.18",
        "cpe:2.3:a:videolan:vlc_media_player:-:*:*:*:*:*:*:*",
    ),
    (
        "7-zip",
        "7-zip",
        "22.01",
        "cpe:2.3:a:7-zip:7-zip:-:*:*:*:*:*:*:*",
    ),
    (
        "oracle",
        "jre",
        "8.0.3610",
        "cpe:2.3:a:oracle:jre:-:*:*:*:*:*:*:*",
    ),
    (
        "notepad-plus-plus",
        "notepad++",
        "8.5.4",
        "cpe:2.3:a:notepad-plus-plus:notepad\\+\\+:-:*:*:*:*:*:*:*",
    ),
    (
        "openssl",
        "openssl",
        "3.0.13",
        "cpe:2.3:a:openssl:openssl:-:*:*:*:*:*:*:*",
    ),
];

/// Known vulnerabilities: (CVE, software, CVSS, severity, exploit available, update).
const CVES: [(&str, &str, &str, &str, bool, &str); 8] = [
    (
        "CVE-2024-38112",
        "windows_11",
        "7.5",
        "High",
        true,
        "KB5040442",
    ),
    (
        "CVE-2024-43573",
        "windows_11",
        "6.5",
        "Medium",
        true,
        "KB5044285",
    ),
    (
        "CVE-2024-38021",
        "office",
        "8.8",
        "High",
        false,
        "Update Microsoft Office to 16.0.17830",
    ),
    (
        "CVE-2024-7971",
        "chrome",
        "8.8",
        "High",
        true,
        "Update Google Chrome to 128.0.6613.84",
    ),
    (
        "CVE-2023-47359",
        "vlc_media_player",
        "9.8",
        "Critical",
        false,
        "Update VLC media player to 3.0.20",
    ),
    (
        "CVE-2023-31102",
        "7-zip",
        "7.8",
        "High",
        false,
        "Update 7-Zip to 23.01",
    ),
    (
        "CVE-2024-20918",
        "jre",
        "7.4",
        "High",
        false,
        "Update Java to 8u401",
    ),
    (
        "CVE-2024-0727",
        "openssl",
        "5.5",
        "Medium",
        false,
        "Update OpenSSL to 3.0.14",
    ),
];

/// Security configuration checks: (id, category, subcategory, impact, name, remediation).
const CONFIGS: [(&str, &str, &str, f64, &str, &str); 8] = [
    (
        "scid-2000",
        "Security controls",
        "Antivirus",
        9.0,
        "Turn on Microsoft Defender Antivirus",
        "Set 'Turn off Microsoft Defender Antivirus' to Disabled in Group Policy or Intune.",
    ),
    (
        "scid-2001",
        "Security controls",
        "Antivirus",
        6.0,
        "Turn on real-time protection",
        "Set 'Turn off real-time protection' to Disabled.",
    ),
    (
        "scid-2003",
        "Security controls",
        "Antivirus",
        6.0,
        "Turn on PUA protection in block mode",
        "Set 'Configure detection for potentially unwanted applications' to Block.",
    ),
    (
        "scid-2010",
        "Security controls",
        "Antivirus",
        6.0,
        "Update Microsoft Defender Antivirus definitions",
        "Let Windows Update or WSUS deliver security intelligence updates at least daily.",
    ),
    (
        "scid-2011",
        "Security controls",
        "Antivirus",
        9.0,
        "Turn on cloud-delivered protection",
        "Set 'Join Microsoft MAPS' to Advanced MAPS.",
    ),
    (
        "scid-91",
        "OS",
        "Credential Guard",
        4.0,
        "Turn on Credential Guard",
        "Set 'Turn On Virtualization Based Security' with Credential Guard enabled with UEFI lock.",
    ),
    (
        "scid-10",
        "OS",
        "SMBv1",
        8.0,
        "Disable SMBv1 client driver",
        "Set the MrxSmb10 service's start type to Disabled.",
    ),
    (
        "scid-5003",
        "Accounts",
        "Local Administrators",
        5.0,
        "Remove unneeded members of the local Administrators group",
        "Manage local administrators with LAPS and restricted groups.",
    ),
];

pub(super) fn vulnerabilities(g: &mut Gen, org: &Org, rng: &mut Rng, _n: usize) {
    let time = g.now - 5 * HOUR;
    for (i, d) in org.devices.iter().enumerate() {
        let installed: Vec<&(&str, &str, &str, &str)> = SOFTWARE
            .iter()
            .filter(|(_, name, _, _)| match *name {
                "windows_11" | "teams" | "office" => !d.server && !d.linux,
                "openssl" => d.linux,
                "vlc_media_player" | "jre" => !d.server && i % 5 == 2,
                _ => !d.linux,
            })
            .collect();
        for (vendor, name, version, cpe) in &installed {
            let eos = *name == "jre" || *name == "vlc_media_player";
            g.push(
                "DeviceTvmSoftwareInventory",
                [
                    ("DeviceId", s(&d.device_id)),
                    ("DeviceName", s(&d.fqdn)),
                    ("OSPlatform", s(d.os_platform())),
                    ("OSVersion", s(d.os_version())),
                    ("OSArchitecture", s("x64")),
                    ("SoftwareVendor", s(*vendor)),
                    ("SoftwareName", s(*name)),
                    ("SoftwareVersion", s(*version)),
                    (
                        "EndOfSupportStatus",
                        s(if eos { "EOS Version" } else { "" }),
                    ),
                    (
                        "EndOfSupportDate",
                        if eos {
                            dt(g.now - 200 * DAY)
                        } else {
                            super::super::Value::Null
                        },
                    ),
                    ("ProductCodeCpe", s(*cpe)),
                ],
            );
            for (cve, software, _, severity, _, update) in CVES.iter().filter(|c| c.1 == *name) {
                if *software == "windows_11" && i % 3 == 0 {
                    continue;
                }
                g.push(
                    "DeviceTvmSoftwareVulnerabilities",
                    [
                        ("DeviceId", s(&d.device_id)),
                        ("DeviceName", s(&d.fqdn)),
                        ("OSPlatform", s(d.os_platform())),
                        ("OSVersion", s(d.os_version())),
                        ("OSArchitecture", s("x64")),
                        ("SoftwareVendor", s(*vendor)),
                        ("SoftwareName", s(*name)),
                        ("SoftwareVersion", s(*version)),
                        ("CveId", s(*cve)),
                        ("VulnerabilitySeverityLevel", s(*severity)),
                        ("RecommendedSecurityUpdate", s(*update)),
                        (
                            "RecommendedSecurityUpdateId",
                            s(update.strip_prefix("Update ").unwrap_or(update)),
                        ),
                        ("CveTags", dy(json!([]))),
                    ],
                );
            }
        }
        if !d.linux {
            for (k, &(id, category, subcategory, impact, _, _)) in CONFIGS.iter().enumerate() {
                g.push(
                    "DeviceTvmSecureConfigurationAssessment",
                    [
                        ("DeviceId", s(&d.device_id)),
                        ("DeviceName", s(&d.fqdn)),
                        ("OSPlatform", s(d.os_platform())),
                        ("Timestamp", dt(time)),
                        ("ConfigurationId", s(id)),
                        ("ConfigurationCategory", s(category)),
                        ("ConfigurationSubcategory", s(subcategory)),
                        ("ConfigurationImpact", real(impact)),
                        ("IsCompliant", boolean((i + k) % 7 != 0)),
                        ("IsApplicable", boolean(true)),
                        ("Context", dy(json!([]))),
                        ("IsExpectedUserImpact", boolean(k == 5)),
                    ],
                );
            }
        }
        g.push(
            "DeviceTvmInfoGathering",
            [
                ("Timestamp", dt(time)),
                ("LastSeenTime", dt(time - HOUR)),
                ("DeviceId", s(&d.device_id)),
                ("DeviceName", s(&d.fqdn)),
                ("OSPlatform", s(d.os_platform())),
                (
                    "AdditionalFields",
                    dy(json!({"AsrConfigurationStates": {"BlockOfficeChildProcess": "Audit",
                                                          "BlockCredentialStealingFromLsass": "Audit",
                                                          "BlockPsexecAndWmiProcessCreation": "Audit"},
                              "TlsClient10": "Enabled", "TlsServer10": if d.server { "Enabled" } else { "NotApplicable" },
                              "Log4JEnvironmentVariableMitigation": "false", "AvMode": "0",
                              "AvSignatureVersion": "1.421.330.0", "AvEngineVersion": "1.1.24090.11"})),
                ),
            ],
        );
        if !d.server {
            for (name, id, risk) in [
                (
                    "Microsoft Editor: Spelling & Grammar Checker",
                    "hokifickgkhplphjiodbggjmoafhignh",
                    "Medium",
                ),
                (
                    "Adobe Acrobat: PDF edit, convert, sign tools",
                    "efaidnbmnnnibpcajpcglclefindmkaj",
                    "High",
                ),
                (
                    "Google Translate",
                    "aapbdbdomjkkjkaonfhkkikfgjllcleb",
                    "Low",
                ),
            ] {
                g.push(
                    "DeviceTvmBrowserExtensions",
                    [
                        ("DeviceId", s(&d.device_id)),
                        ("BrowserName", s("edge")),
                        ("ExtensionId", s(id)),
                        ("ExtensionName", s(name)),
                        ("ExtensionDescription", s(name)),
                        ("ExtensionVersion", s("1.0.0")),
                        ("ExtensionRisk", s(risk)),
                        (
                            "ExtensionVendor",
                            s(name.split(' ').next().unwrap_or_default()),
                        ),
                        ("IsActivated", s("true")),
                        (
                            "InstallationTime",
                            dt(g.now - (30 + rng.below(300) as i64) * DAY),
                        ),
                    ],
                );
            }
        }
    }
    for (id, category, subcategory, impact, name, remediation) in CONFIGS {
        g.push(
            "DeviceTvmSecureConfigurationAssessmentKB",
            [
                ("ConfigurationId", s(id)),
                ("ConfigurationImpact", real(impact)),
                ("ConfigurationName", s(name)),
                ("ConfigurationDescription", s(format!("{name}."))),
                (
                    "RiskDescription",
                    s(format!(
                        "Devices without this {subcategory} setting are easier to attack."
                    )),
                ),
                ("ConfigurationCategory", s(category)),
                ("ConfigurationSubcategory", s(subcategory)),
                (
                    "ConfigurationBenchmarks",
                    dy(json!([{"BenchmarkName": "CIS", "Name": name}])),
                ),
                ("Tags", dy(json!([subcategory]))),
                ("RemediationOptions", s(remediation)),
            ],
        );
    }
    for (cve, software, cvss, severity, exploit, _) in CVES {
        g.push(
            "DeviceTvmSoftwareVulnerabilitiesKB",
            [
                ("CveId", s(cve)),
                ("CvssScore", s(cvss)),
                ("IsExploitAvailable", boolean(exploit)),
                ("VulnerabilitySeverityLevel", s(severity)),
                ("LastModifiedTime", dt(g.now - 20 * DAY)),
                ("PublishedDate", dt(g.now - 120 * DAY)),
                (
                    "VulnerabilityDescription",
                    s(format!("A vulnerability in {software}.")),
                ),
                ("AffectedSoftware", dy(json!([software]))),
            ],
        );
    }
}
