//! Lambda bootstrap of the health function: tracing, environment once, then the runtime loop.

use health::{context_from_parts, handle, HealthEnv};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

// One invocation at a time per sandbox: a single-threaded runtime is all a function needs.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    manuel_shared::runtime::init_tracing();
    let env = HealthEnv::from_env();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let env = &env;
        async move {
            let ctx = context_from_parts(
                &event.context.request_id,
                &event.context.invoked_function_arn,
                event.context.deadline,
            );
            if manuel_shared::runtime::fault_due() {
                return Err(Error::from("injected fault (MANUEL_MIGRATE_FAULT_PERCENT)"));
            }
            Ok::<Value, Error>(handle(&event.payload, &ctx, env).await)
        }
    }))
    .await
}
