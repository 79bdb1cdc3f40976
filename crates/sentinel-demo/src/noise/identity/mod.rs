//! Entra ID and Active Directory: sign-ins, service principal sign-ins, directory changes, risk,
//! UEBA, the identity inventory and what Defender for Identity sees at the domain controllers.

mod directory;
mod domain_controller;
mod risk;
mod signins;

pub(super) use directory::{directory, password_protection};
pub(super) use domain_controller::domain_controller;
pub(super) use risk::{identity_info, risk};
pub(super) use signins::{service_signins, signins};
