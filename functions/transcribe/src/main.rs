//! Lambda bootstrap of the transcribe function (the glue is `manuel_shared::runtime::run`).
//!
//! python-magic is imported with the handler module: no libmagic is an import error, so here it
//! is an init error. Its database failing to load only makes every detection fall back.

use manuel_shared::magic::Library;
use transcribe::{handle, Clients, Detection, Env};

fn main() -> Result<(), manuel_shared::runtime::Error> {
    let lib: &'static Library = Box::leak(Box::new(Library::load()?));
    manuel_shared::runtime::run(
        async || {
            let conf = manuel_shared::aws::load_config().await;
            let detection = Detection {
                magic: lib.mime().ok(),
                types: manuel_shared::pymimetypes::MimeTypes::init(),
            };
            (Clients::new(&conf), Env::from_env(), detection)
        },
        async |event, _, (clients, env, detection)| handle(event, env, clients, detection).await,
    )
}
