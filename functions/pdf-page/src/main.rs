//! Lambda bootstrap of the pdf-page function (the glue is `manuel_shared::runtime::run`).

use pdf_page::{handle, init};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(init, async |event, _, (env, clients, engine)| {
        handle(event, env, clients, engine).await
    })
}
