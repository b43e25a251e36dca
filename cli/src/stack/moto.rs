//! Fixtures in moto that local runs need: an IAM role, and a function with a Python version,
//! a Rust version and an alias (what `functions publish --as-version-of` produces in AWS).

use super::{Stack, StackError};

/// Create the rehearsal function in moto: version 1 (Python), version 2 (Rust), alias `live` → 1.
pub async fn create_two_version_function(stack: &Stack, name: &str) -> Result<(), StackError> {
    let conf = stack.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let role = create_role(&stack.moto_url()).await?;
    let blob = |name: &str, body: &[u8]| -> Result<aws_sdk_lambda::primitives::Blob, StackError> {
        crate::package::zip(&[(name, body, 0o755)])
            .map(aws_sdk_lambda::primitives::Blob::new)
            .map_err(|e| StackError::Io(format!("zip: {e}")))
    };
    let err = |e: &dyn std::error::Error| StackError::Aws {
        context: format!("moto: rehearsal function {name}"),
        message: crate::stack::aws_message(&e),
    };
    lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python311)
        .handler("app.lambda_handler")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(blob("app.py", b"# rehearsal stand-in\n")?)
                .build(),
        )
        .send()
        .await
        .map_err(|e| err(&e))?;
    lambda
        .publish_version()
        .function_name(name)
        .send()
        .await
        .map_err(|e| err(&e))?;
    lambda
        .create_alias()
        .function_name(name)
        .name("live")
        .function_version("1")
        .send()
        .await
        .map_err(|e| err(&e))?;
    lambda
        .update_function_code()
        .function_name(name)
        .zip_file(blob("bootstrap", b"rehearsal stand-in\n")?)
        .send()
        .await
        .map_err(|e| err(&e))?;
    lambda
        .publish_version()
        .function_name(name)
        .send()
        .await
        .map_err(|e| err(&e))?;
    Ok(())
}

/// The role local functions are created with.
const ROLE: &str = "manuel-rehearsal";

/// One call of IAM's query API (moto does not check signatures); the response body.
async fn iam(moto: &str, params: &[(&str, &str)]) -> Result<String, StackError> {
    let fail = |e: reqwest::Error| StackError::Service {
        service: format!("moto iam {moto}"),
        message: e.to_string(),
    };
    reqwest::Client::new()
        .post(moto)
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x")
        .form(params)
        .send()
        .await
        .map_err(fail)?
        .text()
        .await
        .map_err(fail)
}

/// The text of the first `<tag>…</tag>` in an XML answer.
fn xml_text<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let (_, rest) = body.split_once(&format!("<{tag}>"))?;
    rest.split_once(&format!("</{tag}>")).map(|(t, _)| t)
}

/// The IAM role a function needs, created once per stack (a second rehearsal on the same
/// running stack finds it and reuses it).
pub async fn create_role(moto: &str) -> Result<String, StackError> {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let version = ("Version", "2010-05-08");
    let mut body = iam(
        moto,
        &[
            ("Action", "CreateRole"),
            version,
            ("RoleName", ROLE),
            ("AssumeRolePolicyDocument", policy),
        ],
    )
    .await?;
    if xml_text(&body, "Code") == Some("EntityAlreadyExists") {
        body = iam(moto, &[("Action", "GetRole"), version, ("RoleName", ROLE)]).await?;
    }
    match xml_text(&body, "Arn") {
        Some(arn) => Ok(arn.to_owned()),
        None => Err(StackError::Aws {
            context: format!("moto iam:CreateRole {ROLE}"),
            message: xml_text(&body, "Message")
                .unwrap_or("no role ARN in the answer")
                .to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_text_finds_the_first_tag() {
        let body = "<R><Error><Code>EntityAlreadyExists</Code><Message>Role with name x already exists.</Message></Error></R>";
        assert_eq!(super::xml_text(body, "Code"), Some("EntityAlreadyExists"));
        assert_eq!(
            super::xml_text(body, "Message"),
            Some("Role with name x already exists.")
        );
        assert_eq!(super::xml_text(body, "Arn"), None);
    }
}
