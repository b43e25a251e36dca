//! What `UsageTracker()` holds — the table name and the quotas — and the table read as boto3's
//! resource layer reads it.

use crate::table::{RawItem, ReadError, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use manuel_shared::ddb::{item_from_sdk, Item};
use manuel_shared::py::PyException;
use manuel_shared::usage::env_int;

/// What `UsageTracker()` needs: the table and the quotas.
pub(crate) struct Tracker {
    pub(crate) table: String,
    pub(crate) daily_limit: i64,
    pub(crate) monthly_limit: i64,
}

pub(crate) fn tracker() -> Result<Tracker, PyException> {
    let table = std::env::var("USAGE_TABLE_NAME")
        .map_err(|_| PyException::key_error("USAGE_TABLE_NAME"))?;
    Ok(Tracker {
        table,
        daily_limit: env_int("DAILY_QUOTA", 50)?,
        monthly_limit: env_int("MONTHLY_QUOTA", 1000)?,
    })
}

/// The table, read as boto3's resource layer reads it: items deserialised inside the call, so
/// a number `DYNAMODB_CONTEXT` refuses is an exception of the call (not a ClientError).
pub(crate) struct Reader<'a, T> {
    pub(crate) table: &'a T,
}

fn deserialise(items: Vec<RawItem>) -> Result<Vec<Item>, ReadError> {
    items
        .iter()
        .map(|raw| item_from_sdk(raw).map_err(ReadError::Other))
        .collect()
}

impl<T: Table + Sync> Reader<'_, T> {
    pub(crate) async fn get_item(
        &self,
        table: &str,
        user_id: &AttributeValue,
        date: &str,
    ) -> Result<Option<Item>, ReadError> {
        let raw = self.table.get_item(table, user_id, date).await?;
        raw.map(|r| item_from_sdk(&r).map_err(ReadError::Other))
            .transpose()
    }

    pub(crate) async fn batch_get(
        &self,
        table: &str,
        user_id: &AttributeValue,
        dates: &[String],
    ) -> Result<Vec<Item>, ReadError> {
        deserialise(self.table.batch_get(table, user_id, dates).await?)
    }

    pub(crate) async fn query(
        &self,
        table: &str,
        pk: &AttributeValue,
        prefix: Option<&str>,
        newest_first_limit: Option<i32>,
    ) -> Result<Vec<Item>, ReadError> {
        deserialise(
            self.table
                .query(table, pk, prefix, newest_first_limit)
                .await?,
        )
    }
}
