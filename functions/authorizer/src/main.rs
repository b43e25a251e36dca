//! Lambda bootstrap of the token authorizer (the glue is `manuel_shared::runtime::run`).

use authorizer::{authorize, verifier_from_env};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || verifier_from_env(),
        async |event, _, verifier| authorize(event, verifier.as_ref()).await,
    )
}
