//! Lambda bootstrap of the manuals function (the glue is `manuel_shared::runtime::run`).

use manuals::{handle, Clients, ManualsEnv};
use manuel_shared::aws::load_config;

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || (ManualsEnv::from_env(), Clients::new(&load_config().await)),
        async |event, ctx, (env, clients)| handle(event, &ctx.request_id, env, clients).await,
    )
}
