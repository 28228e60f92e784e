//! Azure region names (ARM `name`s, as `az account list-locations` prints them).
//!
//! A malformed region is an error (`names::location`); a well-formed name not in [`KNOWN`] is a
//! *warning* with a did-you-mean: new regions open every year and sovereign clouds have their
//! own, so the list advises rather than decides.

use super::Cx;
use crate::config::diag::{did_you_mean, Diag};
use crate::config::spanned::Sp;
use crate::model::resource_group::normalize_location;

pub const KNOWN: &[&str] = &[
    // Americas
    "eastus",
    "eastus2",
    "centralus",
    "northcentralus",
    "southcentralus",
    "westcentralus",
    "westus",
    "westus2",
    "westus3",
    "canadacentral",
    "canadaeast",
    "brazilsouth",
    "brazilsoutheast",
    "mexicocentral",
    "chilecentral",
    // Europe
    "northeurope",
    "westeurope",
    "uksouth",
    "ukwest",
    "francecentral",
    "francesouth",
    "germanywestcentral",
    "germanynorth",
    "switzerlandnorth",
    "switzerlandwest",
    "norwayeast",
    "norwaywest",
    "swedencentral",
    "swedensouth",
    "polandcentral",
    "italynorth",
    "spaincentral",
    "austriaeast",
    "belgiumcentral",
    "denmarkeast",
    // Middle East and Africa
    "uaenorth",
    "uaecentral",
    "qatarcentral",
    "israelcentral",
    "southafricanorth",
    "southafricawest",
    // Asia Pacific
    "eastasia",
    "southeastasia",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "centralindia",
    "southindia",
    "westindia",
    "jioindiacentral",
    "jioindiawest",
    "australiaeast",
    "australiasoutheast",
    "australiacentral",
    "australiacentral2",
    "newzealandnorth",
    "indonesiacentral",
    "malaysiawest",
    // Sovereign clouds
    "usgovvirginia",
    "usgovarizona",
    "usgovtexas",
    "usdodeast",
    "usdodcentral",
    "chinaeast",
    "chinaeast2",
    "chinaeast3",
    "chinanorth",
    "chinanorth2",
    "chinanorth3",
];

pub fn check(cx: &mut Cx, loc: &Sp<String>) {
    let norm = normalize_location(&loc.value);
    if KNOWN.contains(&norm.as_str()) {
        return;
    }
    let help = did_you_mean(&norm, KNOWN.iter().copied())
        .unwrap_or_else(|| "Azure region names look like `westeurope` or `eastus2` (`az account list-locations -o table`)".to_string());
    cx.push(
        Diag::warning(
            cx.at(loc.span),
            format!("`{}` is not an Azure region azprotect knows", loc.value),
        )
        .label("unknown region")
        .help(help),
    );
}
