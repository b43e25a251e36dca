//! Lambda bootstrap of the health function (the glue is `manuel_shared::runtime::run`).

use health::{handle, HealthEnv};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || HealthEnv::from_env(),
        async |event, ctx, env| handle(event, ctx, env).await,
    )
}
