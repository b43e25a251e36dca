//! Lambda bootstrap of the usage function (the glue is `manuel_shared::runtime::run`).

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run(usage::init, async |event, _, clients| {
        usage::answer(event, clients).await
    })
}
