//! The query's cost record: `calculate_request_cost` with the parameters the handler passes
//! (none the calculator knows, so only API Gateway's share counts) and the item
//! `store_cost_data` writes when a usage table is configured.

use aws_sdk_dynamodb::types::AttributeValue;
use manuel_shared::cost::calculator::{AttrKind, CostCalculator, RequestCost, RequestCostParams};
use manuel_shared::py::PyException;

pub fn request_cost(user_id: &str, operation: &str) -> Result<RequestCost, PyException> {
    let request_id = uuid::Uuid::new_v4().to_string();
    CostCalculator::eur()
        .calculate_request_cost(
            &request_id,
            user_id,
            operation,
            &RequestCostParams::default(),
            chrono::Utc::now(),
        )
        .map_err(|e| PyException::new("ValueError", e.to_string()))
}

/// `store_cost_data`: failures are logged, never raised.
pub async fn store(ddb: &aws_sdk_dynamodb::Client, table: &str, cost: &RequestCost) {
    let mut req = ddb.put_item().table_name(table);
    for a in cost.cost_item(chrono::Utc::now()) {
        let v = match a.kind {
            AttrKind::S => AttributeValue::S(a.value),
            AttrKind::N => AttributeValue::N(a.value),
        };
        req = req.item(a.name, v);
    }
    if let Err(e) = req.send().await {
        tracing::warn!("Warning: Failed to store cost data: {e}");
    }
}
