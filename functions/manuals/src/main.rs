//! Lambda bootstrap of the manuals function: tracing, environment and clients once, then the
//! runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use manuals::{handle, Clients, ManualsEnv};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    manuel_shared::runtime::init_tracing();
    let env = ManualsEnv::from_env();
    let clients = Clients::new(&manuel_shared::aws::load_config().await);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (env, clients) = (&env, &clients);
        async move {
            if manuel_shared::runtime::fault_due() {
                return Err(Error::from("injected fault (MANUEL_MIGRATE_FAULT_PERCENT)"));
            }
            let request_id = event.context.request_id.clone();
            Ok::<Value, Error>(handle(&event.payload, &request_id, env, clients).await)
        }
    }))
    .await
}
