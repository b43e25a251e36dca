//! Lambda bootstrap of the error processor (the glue is `manuel_shared::runtime::run`).

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(error_processor::init, async |event, ctx, clients| {
        error_processor::answer(event, ctx, clients).await
    })
}
