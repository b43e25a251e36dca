//! Lambda bootstrap of process-manual (the glue is `manuel_shared::runtime::run`).

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(process_manual::init, async |event, _, clients| {
        process_manual::answer(event, clients).await
    })
}
