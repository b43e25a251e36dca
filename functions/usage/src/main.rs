//! Lambda bootstrap of the usage function: tracing, the DynamoDB client once, then the loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use usage::{handle, unhandled, Clients};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    manuel_shared::runtime::init_tracing();
    let conf = manuel_shared::aws::load_config().await;
    let clients = Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(&conf),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let clients = &clients;
        async move {
            if manuel_shared::runtime::fault_due() {
                return Err(Error::from("injected fault (MANUEL_MIGRATE_FAULT_PERCENT)"));
            }
            let response = match handle(&event.payload, clients).await {
                Ok(r) => r,
                Err(e) => unhandled(&e),
            };
            Ok::<Value, Error>(response.to_value())
        }
    }))
    .await
}
