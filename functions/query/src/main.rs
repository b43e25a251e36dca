//! Lambda bootstrap of the query function (the glue is `manuel_shared::runtime::run`).

use manuel_shared::aws::load_config;
use query::{handle, Clients, QueryEnv};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || (QueryEnv::from_env(), Clients::new(&load_config().await)),
        async |event, ctx, (env, clients)| handle(event, &ctx.request_id, env, clients).await,
    )
}
