//! The static documents the version API serves (data of the API, kept key for key and in
//! Python's insertion order, which `json.dumps` preserves).

use crate::negotiation::{ApiVersion, CURRENT, SUPPORTED};
use serde_json::{json, Map, Value};

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `get_feature_matrix(version)`.
pub fn features(version: ApiVersion) -> Value {
    let mut m = object(json!({
        "authentication": true,
        "voice_transcription": true,
        "question_answering": true,
        "usage_quotas": true,
        "basic_cost_tracking": true,
        "error_handling": true,
    }));
    let extra = match version {
        ApiVersion::V1_0 => json!({
            "detailed_cost_breakdown": false,
            "circuit_breakers": false,
            "health_checks": false,
            "backup_operations": false,
            "api_versioning": false,
        }),
        ApiVersion::V1_1 => json!({
            "detailed_cost_breakdown": true,
            "circuit_breakers": true,
            "health_checks": true,
            "backup_operations": true,
            "api_versioning": true,
            "enhanced_monitoring": true,
            "disaster_recovery": true,
        }),
        ApiVersion::V2_0 => json!({}),
    };
    m.extend(object(extra));
    Value::Object(m)
}

/// `ApiVersioningHandler.get_version_info()`.
pub fn version_info() -> Map<String, Value> {
    let supported: Vec<&str> = SUPPORTED.iter().map(|v| v.value()).collect();
    object(json!({
        "current_version": CURRENT.value(),
        "supported_versions": supported,
        "deprecated_versions": [],
        "version_detection_methods": [
            "Accept header (application/vnd.manuel.v{version}+json)",
            "API-Version header",
            "version query parameter",
            "path prefix (/v{version}/endpoint)",
        ],
        "backward_compatibility": {
            "v1.0": {
                "request_transformations": ["text->question", "audio_format->content_type"],
                "response_transformations": ["answer->text", "simplified_cost", "simplified_usage"],
                "deprecated": false,
            },
            "v1.1": {
                "request_transformations": ["none (current format)"],
                "response_transformations": ["enhanced_metadata"],
                "deprecated": false,
            },
        },
    }))
}

/// The body of `handle_compatibility_info` (the same for every requested version).
pub fn compatibility() -> Map<String, Value> {
    object(json!({
        "matrix": {
            "v1.0": {
                "supported": true,
                "deprecated": false,
                "breaking_changes": [],
                "migration_guide": "No migration required for v1.0",
                "capabilities": features(ApiVersion::V1_0),
            },
            "v1.1": {
                "supported": true,
                "deprecated": false,
                "breaking_changes": [],
                "migration_guide": "Enhanced features, backward compatible",
                "capabilities": features(ApiVersion::V1_1),
            },
        },
        "migration_paths": {
            "v1.0_to_v1.1": {
                "automatic": true,
                "breaking_changes": [],
                "new_features": [
                    "Enhanced cost tracking",
                    "Detailed usage metrics",
                    "Circuit breaker status",
                    "Backup operations",
                ],
                "deprecated_features": [],
            }
        },
        "version_detection": {
            "methods": [
                "Accept: application/vnd.manuel.v{version}+json (recommended)",
                "API-Version: {version} header",
                "version={version} query parameter",
                "/v{version}/ path prefix",
            ],
            "default_behavior": format!("Uses v{} when no version specified", CURRENT.value()),
        },
    }))
}

/// The body of `handle_changelog_info`.
pub fn changelog() -> Map<String, Value> {
    object(json!({
        "versions": [
            {
                "version": "1.1",
                "release_date": "2025-01-10",
                "status": "current",
                "changes": {
                    "new_features": [
                        "Enhanced cost tracking with detailed breakdown",
                        "Circuit breaker patterns for fault tolerance",
                        "Comprehensive health checks and monitoring",
                        "Backup and disaster recovery operations",
                        "API versioning and backward compatibility",
                    ],
                    "improvements": [
                        "Better error handling and logging",
                        "Enhanced CloudWatch dashboards",
                        "Optimized Lambda performance",
                        "Improved security configurations",
                    ],
                    "deprecations": [],
                    "breaking_changes": [],
                },
            },
            {
                "version": "1.0",
                "release_date": "2024-12-01",
                "status": "stable",
                "changes": {
                    "new_features": [
                        "Initial API implementation",
                        "Voice transcription support",
                        "RAG-powered question answering",
                        "User authentication and quotas",
                        "Basic cost tracking",
                    ],
                    "improvements": [],
                    "deprecations": [],
                    "breaking_changes": [],
                },
            },
        ],
        "upcoming": {
            "v2.0": {
                "planned_date": "2025-06-01",
                "major_features": [
                    "Multi-language support",
                    "Advanced analytics and reporting",
                    "Streaming responses",
                    "WebSocket support",
                ],
                "breaking_changes": [
                    "Authentication mechanism changes",
                    "Response format updates",
                ],
            }
        },
    }))
}
