//! Lambda bootstrap of the rollback guard (the glue is `manuel_shared::runtime::run_fallible`:
//! a failed rollback is a failed invocation, which SNS retries).

fn main() -> Result<(), manuel_shared::runtime::Error> {
    manuel_shared::runtime::run_fallible(rollback_guard::init, async |event, ctx, guard| {
        rollback_guard::answer(event, ctx, guard).await
    })
}
