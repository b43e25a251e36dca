//! AWS Lambda on-demand prices (USD, first pricing tier), per architecture and region.
//!
//! Since August 2025 Lambda bills the INIT phase of on-demand functions like invocation time, so
//! a cold start costs its init duration too; [`LambdaPricing::per_million`] takes the billed
//! init time per request (init ms × cold-start share) for that.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

/// An architecture name that is neither x86_64 nor arm64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture '{0}' (x86_64 or arm64)")]
pub struct UnknownArch(pub String);

impl FromStr for Arch {
    type Err = UnknownArch;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x86_64" | "x86" | "amd64" => Ok(Arch::X86_64),
            "arm64" | "aarch64" | "graviton" => Ok(Arch::Arm64),
            other => Err(UnknownArch(other.to_owned())),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        })
    }
}

/// Prices of one region and architecture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LambdaPricing {
    /// USD per GB-second of billed duration.
    pub gb_second: f64,
    /// USD per request.
    pub request: f64,
}

/// Regions priced like us-east-1 (the common tier): US, most of Europe and Asia Pacific.
const STANDARD_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
];

/// A region this table has no prices for; `Display` names it and the priced ones.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("no Lambda prices for region '{region}' (known: {known})", known = STANDARD_REGIONS.join(", "))]
pub struct UnknownRegion {
    pub region: String,
}

impl LambdaPricing {
    /// Prices for a region and architecture; `Err` names an unpriced region.
    pub fn for_region(region: &str, arch: Arch) -> Result<Self, UnknownRegion> {
        if !STANDARD_REGIONS.contains(&region) {
            return Err(UnknownRegion {
                region: region.to_owned(),
            });
        }
        Ok(match arch {
            Arch::X86_64 => Self {
                gb_second: 0.000_016_666_7,
                request: 0.000_000_2,
            },
            Arch::Arm64 => Self {
                gb_second: 0.000_013_333_4,
                request: 0.000_000_2,
            },
        })
    }

    /// USD per million requests: mean billed duration (ms) and mean billed init time per request
    /// (ms), at `memory_mb`.
    pub fn per_million(&self, billed_ms: f64, init_billed_ms: f64, memory_mb: u32) -> f64 {
        let gb = memory_mb as f64 / 1024.0;
        let seconds = (billed_ms + init_billed_ms) / 1000.0;
        1e6 * (self.request + gb * seconds * self.gb_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_million_matches_the_published_example() {
        // AWS's example: 128 MB, 100 ms billed on x86 → $0.20 requests + $0.2083 compute.
        let p = LambdaPricing::for_region("us-east-1", Arch::X86_64).unwrap();
        let c = p.per_million(100.0, 0.0, 128);
        assert!((c - (0.2 + 0.208_333_75)).abs() < 1e-6, "{c}");
        let arm = LambdaPricing::for_region("eu-west-1", Arch::Arm64).unwrap();
        assert!(arm.per_million(100.0, 0.0, 128) < c);
        // Init time is billed too.
        assert!(p.per_million(100.0, 10.0, 128) > c);
        let unknown = LambdaPricing::for_region("mars-1", Arch::Arm64).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            format!(
                "no Lambda prices for region 'mars-1' (known: {})",
                STANDARD_REGIONS.join(", ")
            )
        );
        assert_eq!("aarch64".parse::<Arch>(), Ok(Arch::Arm64));
    }
}
