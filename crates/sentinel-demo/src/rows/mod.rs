//! Row shapes shared by the story and the noise: sign-ins, Defender device events, Windows
//! security events, directory audits and Microsoft 365 activity. One event often lands in several
//! tables, as it does in a real workspace (a process start in DeviceProcessEvents and as 4688 in
//! SecurityEvent; a sign-in in SigninLogs, AADSignInEventsBeta and IdentityLogonEvents).

mod cloud;
mod endpoint;
mod identity;
mod mail;
mod network;

pub(crate) use cloud::*;
pub(crate) use endpoint::*;
pub(crate) use identity::*;
pub(crate) use mail::*;
pub(crate) use network::*;
