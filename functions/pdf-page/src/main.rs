//! Lambda bootstrap of the pdf-page function: tracing, environment, clients and PDFium once,
//! then the runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pdf_page::{handle, render::Engine, Clients, PdfPageEnv};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    manuel_shared::runtime::init_tracing();
    let env = PdfPageEnv::from_env();
    let clients = Clients::new(&manuel_shared::aws::load_config().await);
    let engine = Engine::load();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (env, clients, engine) = (&env, &clients, &engine);
        async move {
            if manuel_shared::runtime::fault_due() {
                return Err(Error::from("injected fault (MANUEL_MIGRATE_FAULT_PERCENT)"));
            }
            Ok::<Value, Error>(handle(&event.payload, env, clients, engine).await)
        }
    }))
    .await
}
