//! Lambda bootstrap of the bootstrap function (the glue is `manuel_shared::runtime::run`).

use bootstrap::{handle, Clients, Env};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || {
            let conf = manuel_shared::aws::load_config().await;
            (Clients::new(&conf), Env::from_env())
        },
        async |event, _, (clients, env)| handle(event, clients, env).await,
    )
}
