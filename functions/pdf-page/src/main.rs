//! Lambda bootstrap of the pdf-page function (the glue is `manuel_shared::runtime::run`).

use manuel_shared::aws::load_config;
use pdf_page::{handle, render::Engine, Clients, PdfPageEnv};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(
        async || {
            (
                PdfPageEnv::from_env(),
                Clients::new(&load_config().await),
                Engine::load(),
            )
        },
        async |event, _, (env, clients, engine)| handle(event, env, clients, engine).await,
    )
}
