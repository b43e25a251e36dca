//! The shift's route preflight: which API Gateway routes reach a function, and does each give the
//! Rust twin what it needs to answer like Python?
//!
//! With alias weights the Rust code becomes a version of the *same* function behind the *same*
//! routes. A Rust twin that takes the caller only from authorizer claims (`needs_authorizer`)
//! answers a route without an authorizer differently from a Python handler that decodes the
//! token itself; one that verifies tokens itself (`verifies_tokens`) does not need one.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("apigateway:{call} {api}: {message}")]
    Aws {
        call: &'static str,
        api: String,
        message: String,
    },
}

/// One method of the API that integrates the function, and how it is authorised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAuth {
    /// `GET /api/manuals`.
    pub route: String,
    /// `NONE`, `COGNITO_USER_POOLS`, `CUSTOM` or `AWS_IAM`.
    pub authorization: String,
    pub authorizer_id: Option<String>,
}

impl RouteAuth {
    /// Does the function receive the caller's claims (`requestContext.authorizer`)?
    pub fn gives_claims(&self) -> bool {
        matches!(self.authorization.as_str(), "COGNITO_USER_POOLS" | "CUSTOM")
    }

    pub fn describe(&self) -> String {
        match &self.authorizer_id {
            Some(id) => format!("{} {} ({id})", self.route, self.authorization),
            None => format!("{} {}", self.route, self.authorization),
        }
    }
}

/// Does an integration URI invoke `function` (its ARN, with or without a qualifier)?
pub fn invokes(uri: &str, function: &str) -> bool {
    let needle = format!(":function:{function}");
    uri.match_indices(&needle).any(|(i, _)| {
        let rest = &uri[i + needle.len()..];
        rest.starts_with('/') || rest.starts_with(':') || rest.is_empty()
    })
}

/// The routes of `rest_api_id` whose integration invokes `function`, sorted by route.
pub async fn routes_of(
    client: &aws_sdk_apigateway::Client,
    rest_api_id: &str,
    function: &str,
) -> Result<Vec<RouteAuth>, RouteError> {
    let aws = |call: &'static str, message: String| RouteError::Aws {
        call,
        api: rest_api_id.to_owned(),
        message,
    };
    let mut resources: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut position: Option<String> = None;
    loop {
        let page = client
            .get_resources()
            .rest_api_id(rest_api_id)
            .limit(500)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| aws("GetResources", crate::stack::aws_message(&e)))?;
        for r in page.items() {
            let methods: Vec<String> = r
                .resource_methods()
                .map(|m: &HashMap<_, _>| m.keys().cloned().collect())
                .unwrap_or_default();
            if let (Some(id), Some(path)) = (r.id(), r.path()) {
                resources.push((id.to_owned(), path.to_owned(), methods));
            }
        }
        match page.position() {
            Some(p) if !p.is_empty() && Some(p) != position.as_deref() => {
                position = Some(p.to_owned())
            }
            _ => break,
        }
    }
    let mut out = Vec::new();
    for (id, path, methods) in resources {
        for method in methods {
            let m = client
                .get_method()
                .rest_api_id(rest_api_id)
                .resource_id(&id)
                .http_method(&method)
                .send()
                .await
                .map_err(|e| aws("GetMethod", crate::stack::aws_message(&e)))?;
            let uri = m
                .method_integration()
                .and_then(|i| i.uri())
                .unwrap_or_default();
            if !invokes(uri, function) {
                continue;
            }
            out.push(RouteAuth {
                route: format!("{} {path}", method.to_ascii_uppercase()),
                authorization: m.authorization_type().unwrap_or("NONE").to_owned(),
                authorizer_id: m.authorizer_id().map(str::to_owned),
            });
        }
    }
    out.sort_by(|a, b| a.route.cmp(&b.route));
    Ok(out)
}

/// What the Rust twin needs of its routes (`manuel-migrate.toml`).
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    pub needs_authorizer: bool,
    pub verifies_tokens: bool,
}

impl Needs {
    /// Does the preflight have anything to check?
    pub fn relevant(&self) -> bool {
        self.needs_authorizer
    }
}

/// The preflight's finding on a function's live routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Every route gives the twin what it needs.
    Fine,
    /// Routes without an authorizer, but the twin verifies tokens itself.
    VerifiedByTwin(Vec<RouteAuth>),
    /// Routes without an authorizer the twin needs: the first is named in the refusal.
    Unprotected(Vec<RouteAuth>),
    /// No route of the API integrates the function.
    NoRoutes,
}

pub fn judge(needs: Needs, routes: &[RouteAuth]) -> Finding {
    if !needs.relevant() {
        return Finding::Fine;
    }
    if routes.is_empty() {
        return Finding::NoRoutes;
    }
    let open: Vec<RouteAuth> = routes
        .iter()
        .filter(|r| !r.gives_claims())
        .cloned()
        .collect();
    match (open.is_empty(), needs.verifies_tokens) {
        (true, _) => Finding::Fine,
        (false, true) => Finding::VerifiedByTwin(open),
        (false, false) => Finding::Unprotected(open),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(route: &str, auth: &str) -> RouteAuth {
        RouteAuth {
            route: route.into(),
            authorization: auth.into(),
            authorizer_id: None,
        }
    }

    #[test]
    fn integration_uris_match_the_function_not_its_prefix() {
        let arn = |f: &str| {
            format!("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:{f}/invocations")
        };
        assert!(invokes(&arn("manuel-manuals-dev"), "manuel-manuals-dev"));
        assert!(invokes(
            &arn("manuel-manuals-dev:live"),
            "manuel-manuals-dev"
        ));
        assert!(!invokes(&arn("manuel-manuals-dev-2"), "manuel-manuals-dev"));
        assert!(!invokes(&arn("manuel-manuals-rust-dev"), "manuel-manuals"));
        assert!(!invokes("", "manuel-manuals-dev"));
    }

    #[test]
    fn only_a_twin_that_needs_claims_is_held_back_by_an_open_route() {
        let routes = [
            r("GET /api/manuals", "NONE"),
            r("POST /api/manuals/download", "COGNITO_USER_POOLS"),
        ];
        let needs = |needs_authorizer, verifies_tokens| Needs {
            needs_authorizer,
            verifies_tokens,
        };
        assert_eq!(judge(needs(false, false), &routes), Finding::Fine);
        assert_eq!(
            judge(needs(true, false), &routes),
            Finding::Unprotected(vec![routes[0].clone()])
        );
        assert_eq!(
            judge(needs(true, true), &routes),
            Finding::VerifiedByTwin(vec![routes[0].clone()])
        );
        let closed = [
            r("GET /api/manuals", "CUSTOM"),
            r("GET /x", "COGNITO_USER_POOLS"),
        ];
        assert_eq!(judge(needs(true, false), &closed), Finding::Fine);
        // IAM authorisation gives no Cognito claims.
        assert!(matches!(
            judge(needs(true, false), &[r("GET /x", "AWS_IAM")]),
            Finding::Unprotected(_)
        ));
        assert_eq!(judge(needs(true, false), &[]), Finding::NoRoutes);
    }
}
