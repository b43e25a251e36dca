//! The usage table as the handler reads it: DynamoDB through the SDK, or items held in memory
//! (the property tests seed any attribute values there without a server). Items come back raw,
//! as the SDK returns them; the handler deserialises them as boto3 would, so both sources go
//! through the same number handling.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use manuel_shared::py::PyException;
use std::collections::HashMap;
use std::future::Future;

/// An item as the SDK returns it.
pub type RawItem = HashMap<String, AttributeValue>;

/// A failed read: a `ClientError` (the service answered with an error, which the handler
/// catches in places) or any other exception (connection, deserialisation).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    Client(PyException),
    Other(PyException),
}

impl ReadError {
    pub fn exception(self) -> PyException {
        match self {
            ReadError::Client(e) | ReadError::Other(e) => e,
        }
    }
}

fn read_error<E, R>(e: &SdkError<E, R>, operation: &str) -> ReadError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let py = manuel_shared::aws::to_py(e, "dynamodb", operation);
    match e {
        SdkError::ServiceError(_) => ReadError::Client(py),
        _ => ReadError::Other(py),
    }
}

/// The three reads the handler makes.
pub trait Table {
    /// `table.get_item(Key={"user_id": user_id, "date": date})`.
    fn get_item(
        &self,
        table: &str,
        user_id: &AttributeValue,
        date: &str,
    ) -> impl Future<Output = Result<Option<RawItem>, ReadError>> + Send;

    /// `dynamodb.batch_get_item(RequestItems={table: {"Keys": keys}})`'s items for `table`.
    fn batch_get(
        &self,
        table: &str,
        user_id: &AttributeValue,
        dates: &[String],
    ) -> impl Future<Output = Result<Vec<RawItem>, ReadError>> + Send;

    /// `table.query(...)` of the items whose `user_id` is `pk` and whose `date` begins with
    /// `prefix` (all of them when `None`), or the `limit` newest (`ScanIndexForward=False`).
    fn query(
        &self,
        table: &str,
        pk: &AttributeValue,
        prefix: Option<&str>,
        newest_first_limit: Option<i32>,
    ) -> impl Future<Output = Result<Vec<RawItem>, ReadError>> + Send;
}

impl Table for aws_sdk_dynamodb::Client {
    fn get_item(
        &self,
        table: &str,
        user_id: &AttributeValue,
        date: &str,
    ) -> impl Future<Output = Result<Option<RawItem>, ReadError>> + Send {
        let call = self
            .get_item()
            .table_name(table)
            .key("user_id", user_id.clone())
            .key("date", AttributeValue::S(date.to_owned()));
        // Boxed: the SDK's futures are deep types, and the handler's nest them further.
        Box::pin(async move {
            let out = call.send().await.map_err(|e| read_error(&e, "GetItem"))?;
            Ok(out.item().cloned())
        })
    }

    fn batch_get(
        &self,
        table: &str,
        user_id: &AttributeValue,
        dates: &[String],
    ) -> impl Future<Output = Result<Vec<RawItem>, ReadError>> + Send {
        let keys: Vec<RawItem> = dates
            .iter()
            .map(|d| {
                HashMap::from([
                    ("user_id".to_owned(), user_id.clone()),
                    ("date".to_owned(), AttributeValue::S(d.clone())),
                ])
            })
            .collect();
        let client = self.clone();
        let table = table.to_owned();
        Box::pin(async move {
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|e| {
                    ReadError::Other(PyException::new("ParamValidationError", e.to_string()))
                })?;
            let out = client
                .batch_get_item()
                .request_items(&table, ka)
                .send()
                .await
                .map_err(|e| read_error(&e, "BatchGetItem"))?;
            Ok(out
                .responses()
                .and_then(|r| r.get(&table))
                .cloned()
                .unwrap_or_default())
        })
    }

    fn query(
        &self,
        table: &str,
        pk: &AttributeValue,
        prefix: Option<&str>,
        newest_first_limit: Option<i32>,
    ) -> impl Future<Output = Result<Vec<RawItem>, ReadError>> + Send {
        let mut q = self
            .query()
            .table_name(table)
            .expression_attribute_names("#n0", "user_id")
            .expression_attribute_values(":v0", pk.clone());
        q = match prefix {
            Some(p) => q
                .key_condition_expression("(#n0 = :v0 AND begins_with(#n1, :v1))")
                .expression_attribute_names("#n1", "date")
                .expression_attribute_values(":v1", AttributeValue::S(p.to_owned())),
            None => q.key_condition_expression("#n0 = :v0"),
        };
        if let Some(limit) = newest_first_limit {
            q = q.scan_index_forward(false).limit(limit);
        }
        Box::pin(async move {
            let out = q.send().await.map_err(|e| read_error(&e, "Query"))?;
            Ok(out.items().to_vec())
        })
    }
}

/// A usage table in memory: what DynamoDB would answer for these items (keys `user_id` and
/// `date`, the sort key compared as bytes). Any other table name is missing, as on a stack
/// without it.
#[derive(Debug, Clone, Default)]
pub struct MemoryTable {
    pub name: String,
    pub items: Vec<RawItem>,
}

impl MemoryTable {
    fn check(&self, table: &str, operation: &str) -> Result<(), ReadError> {
        if table == self.name {
            Ok(())
        } else {
            Err(ReadError::Client(PyException::new(
                "ResourceNotFoundException",
                format!(
                    "An error occurred (ResourceNotFoundException) when calling the {operation} \
                     operation: Requested resource not found"
                ),
            )))
        }
    }

    fn date(item: &RawItem) -> Option<&str> {
        match item.get("date") {
            Some(AttributeValue::S(d)) => Some(d),
            _ => None,
        }
    }

    fn of_user<'a>(&'a self, pk: &'a AttributeValue) -> impl Iterator<Item = &'a RawItem> {
        self.items
            .iter()
            .filter(move |i| i.get("user_id") == Some(pk) && Self::date(i).is_some())
    }
}

impl Table for MemoryTable {
    fn get_item(
        &self,
        table: &str,
        user_id: &AttributeValue,
        date: &str,
    ) -> impl Future<Output = Result<Option<RawItem>, ReadError>> + Send {
        let r = self.check(table, "GetItem").map(|()| {
            self.of_user(user_id)
                .find(|i| Self::date(i) == Some(date))
                .cloned()
        });
        std::future::ready(r)
    }

    fn batch_get(
        &self,
        table: &str,
        user_id: &AttributeValue,
        dates: &[String],
    ) -> impl Future<Output = Result<Vec<RawItem>, ReadError>> + Send {
        let r = self.check(table, "BatchGetItem").map(|()| {
            self.of_user(user_id)
                .filter(|i| dates.iter().any(|d| Self::date(i) == Some(d.as_str())))
                .cloned()
                .collect()
        });
        std::future::ready(r)
    }

    fn query(
        &self,
        table: &str,
        pk: &AttributeValue,
        prefix: Option<&str>,
        newest_first_limit: Option<i32>,
    ) -> impl Future<Output = Result<Vec<RawItem>, ReadError>> + Send {
        let r = self.check(table, "Query").map(|()| {
            let mut items: Vec<&RawItem> = self
                .of_user(pk)
                .filter(|i| prefix.is_none_or(|p| Self::date(i).is_some_and(|d| d.starts_with(p))))
                .collect();
            items.sort_by(|a, b| Self::date(a).cmp(&Self::date(b)));
            if let Some(limit) = newest_first_limit {
                items.reverse();
                items.truncate(usize::try_from(limit).unwrap_or(0));
            }
            items.into_iter().cloned().collect()
        });
        std::future::ready(r)
    }
}
