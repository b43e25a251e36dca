//! `clear_sample_manuals` and `get_bootstrap_status`: the caller's folder, object by object.

use crate::{answer, failed, Caller, Clients};
use manuel_shared::aws::to_py;
use manuel_shared::pyvalue::{PyInt, PyValue};

/// The caller's keys (first ListObjectsV2 page of `manuals/<user>/`).
async fn keys(
    c: &Clients,
    bucket: &str,
    caller: &Caller,
) -> Result<Vec<String>, manuel_shared::py::PyException> {
    let listed =
        c.s3.list_objects_v2()
            .bucket(bucket)
            .prefix(caller.prefix())
            .send()
            .await
            .map_err(|e| to_py(&e, "s3", "ListObjectsV2"))?;
    Ok(listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect())
}

/// `metadata.get("bootstrap") == "true"` of a HEAD; `Err` (logged by the caller) when the HEAD
/// fails.
async fn is_bootstrap(c: &Clients, bucket: &str, key: &str) -> Result<bool, String> {
    let head =
        c.s3.head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| to_py(&e, "s3", "HeadObject").message)?;
    Ok(head
        .metadata()
        .and_then(|m| m.get("bootstrap"))
        .is_some_and(|v| v == "true"))
}

fn int(v: i64) -> PyValue {
    PyValue::Int(PyInt::I64(v))
}

/// `clear`: deletes the caller's bootstrap-marked objects.
pub(crate) async fn clear(c: &Clients, bucket: &str, caller: &Caller) -> serde_json::Value {
    let keys = match keys(c, bucket, caller).await {
        Ok(k) => k,
        Err(e) => return failed("Failed to clear bootstrap manuals", &e),
    };
    let mut deleted = 0;
    for key in keys {
        let outcome = match is_bootstrap(c, bucket, &key).await {
            Ok(false) => Ok(false),
            Ok(true) => {
                c.s3.delete_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map(|_| true)
                    .map_err(|e| to_py(&e, "s3", "DeleteObject").message)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(true) => {
                deleted += 1;
                tracing::info!("Deleted bootstrap manual: {key}");
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("Error checking/deleting {key}: {e}"),
        }
    }
    answer(
        200,
        &PyValue::dict([
            ("message", PyValue::str("Bootstrap manuals cleared")),
            ("deleted_count", int(deleted)),
            ("user_id", caller.json()),
        ]),
    )
}

/// `status`: how many objects the caller has, and how many are bootstrap ones.
pub(crate) async fn status(c: &Clients, bucket: &str, caller: &Caller) -> serde_json::Value {
    let keys = match keys(c, bucket, caller).await {
        Ok(k) => k,
        Err(e) => return failed("Failed to get bootstrap status", &e),
    };
    let mut bootstrap = 0;
    for key in &keys {
        match is_bootstrap(c, bucket, key).await {
            Ok(true) => bootstrap += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!("Error checking {key}: {e}"),
        }
    }
    answer(
        200,
        &PyValue::dict([
            ("user_id", caller.json()),
            ("total_manuals", int(keys.len() as i64)),
            ("bootstrap_manuals", int(bootstrap)),
            ("has_bootstrap_data", PyValue::Bool(bootstrap > 0)),
        ]),
    )
}
