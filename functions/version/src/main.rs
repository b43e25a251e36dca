//! Lambda bootstrap of the version function (the glue is `manuel_shared::runtime::run`).

use version::{handle, VersionEnv};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || VersionEnv::from_env(),
        async |event, _, env| handle(event, env).await,
    )
}
