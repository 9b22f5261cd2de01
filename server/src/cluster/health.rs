//! The cluster as the health page reports it: whether Redis answers, the
//! queue, and the workers alive (each refreshes a heartbeat key every few
//! seconds; a dead one's expires).

use super::queue::{stream_of, CLIENTS, GROUP};
use super::Redis;
use contract::api::{ClusterHealth, WorkerHealth};

/// What this node sees now; `role` is its `KACHAY_ROLE`.
pub async fn health(redis: &Redis, role: &str) -> ClusterHealth {
    let mut report = ClusterHealth { role: role.to_owned(), ..ClusterHealth::default() };
    if redis.ping().await.is_err() {
        return report;
    }
    report.redis_reachable = true;
    let clients: Vec<String> = redis
        .run(|mut c| async move { redis::cmd("ZRANGE").arg(CLIENTS).arg(0).arg(999).query_async(&mut c).await })
        .await
        .unwrap_or_default();
    for client in clients {
        let stream = stream_of(&client);
        let key = stream.clone();
        let length: u64 =
            redis.run(|mut c| async move { redis::cmd("XLEN").arg(key).query_async(&mut c).await }).await.unwrap_or(0);
        // [count, first, last, consumers].
        let pending: u64 = redis
            .run(|mut c| async move {
                redis::cmd("XPENDING").arg(stream).arg(GROUP).query_async::<redis::Value>(&mut c).await
            })
            .await
            .ok()
            .and_then(|v| match v {
                redis::Value::Array(parts) => match parts.first() {
                    Some(redis::Value::Int(n)) => u64::try_from(*n).ok(),
                    _ => None,
                },
                _ => None,
            })
            .unwrap_or(0);
        report.running += pending;
        report.queued += length.saturating_sub(pending);
    }
    report.workers = workers(redis).await;
    report
}

async fn workers(redis: &Redis) -> Vec<WorkerHealth> {
    let keys: Vec<String> = redis
        .run(|mut c| async move {
            let mut keys = Vec::new();
            let mut cursor = 0u64;
            // A bounded walk: a cluster has a handful of workers.
            for _ in 0..100 {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg("kachay:worker:*")
                    .arg("COUNT")
                    .arg(200)
                    .query_async(&mut c)
                    .await?;
                keys.extend(batch);
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
            Ok(keys)
        })
        .await
        .unwrap_or_default();
    if keys.is_empty() {
        return Vec::new();
    }
    let values: Vec<Option<String>> = redis
        .run(|mut c| async move { redis::cmd("MGET").arg(keys).query_async(&mut c).await })
        .await
        .unwrap_or_default();
    let mut workers: Vec<WorkerHealth> = values
        .into_iter()
        .flatten()
        .filter_map(|json| {
            let v: serde_json::Value = serde_json::from_str(&json).ok()?;
            Some(WorkerHealth {
                id: v.get("id")?.as_str()?.to_owned(),
                running: v.get("running").and_then(serde_json::Value::as_u64).unwrap_or(0),
                slots: v.get("slots").and_then(serde_json::Value::as_u64).unwrap_or(0),
                version: v.get("version").and_then(|s| s.as_str()).unwrap_or_default().to_owned(),
            })
        })
        .collect();
    workers.sort_by(|a, b| a.id.cmp(&b.id));
    workers
}
