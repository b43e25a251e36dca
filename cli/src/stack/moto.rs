//! Fixtures in moto that local runs need: an IAM role, and a function with a Python version,
//! a Rust version and an alias (what `functions publish --as-version-of` produces in AWS).

use super::Stack;

/// Create the rehearsal function in moto: version 1 (Python), version 2 (Rust), alias `live` → 1.
pub async fn create_two_version_function(stack: &Stack, name: &str) -> anyhow::Result<()> {
    let conf = stack.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let role = create_role(&stack.moto_url()).await?;
    let blob = |name: &str, body: &[u8]| -> anyhow::Result<aws_sdk_lambda::primitives::Blob> {
        Ok(aws_sdk_lambda::primitives::Blob::new(crate::package::zip(
            &[(name, body, 0o755)],
        )?))
    };
    let err = |e: &dyn std::error::Error| anyhow::anyhow!("moto: {}", e);
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

/// moto answers IAM's query API without checking signatures: create the role a function needs.
pub async fn create_role(moto: &str) -> anyhow::Result<String> {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let body = reqwest::Client::new()
        .post(moto)
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x")
        .form(&[("Action", "CreateRole"), ("Version", "2010-05-08"), ("RoleName", "manuel-rehearsal"), ("AssumeRolePolicyDocument", policy)])
        .send()
        .await?
        .text()
        .await?;
    let start = body
        .find("<Arn>")
        .ok_or_else(|| anyhow::anyhow!("moto CreateRole: no ARN in {body}"))?
        + 5;
    let end = body[start..]
        .find("</Arn>")
        .ok_or_else(|| anyhow::anyhow!("moto CreateRole: bad answer"))?;
    Ok(body[start..start + end].to_owned())
}
