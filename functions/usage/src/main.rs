//! Lambda bootstrap of the usage function (the glue is `manuel_shared::runtime::run`).

use aws_sdk_dynamodb::Client;
use usage::{handle, unhandled, Clients};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || Clients {
            dynamodb: Client::new(&manuel_shared::aws::load_config().await),
        },
        async |event, _, clients| match handle(event, clients).await {
            Ok(r) => r.to_value(),
            Err(e) => unhandled(&e).to_value(),
        },
    )
}
