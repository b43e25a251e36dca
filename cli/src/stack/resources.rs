//! What the stack provides to functions: names, endpoints, the environment both SDKs read,
//! the resources (table, buckets) and the reset to that fresh state.

use super::{aws_message, Stack, StackError};
use std::collections::BTreeMap;

/// Name suffix of the queues that observe topics (not state of their own: their messages are
/// the topic's).
pub const OBSERVER_SUFFIX: &str = "--observed";

/// How a restore went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restore {
    /// The checkpoint is back (and the seed stored).
    Done,
    /// This moto has no checkpoint (or no such endpoint): nothing changed.
    Unavailable,
    /// The checkpoint is back but moto refused the seed: its error, naming the entry.
    SeedRefused(String),
}

/// The manuals bucket of a stage (as backend/template.yaml names it).
pub fn manuals_bucket_name(stage: &str, account_id: &str) -> String {
    format!("manuel-manuals-{stage}-{account_id}")
}

impl Stack {
    pub fn moto_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.info.moto.port)
    }

    pub fn usage_table(&self) -> String {
        format!("manuel-usage-{}", self.names.stage)
    }

    pub fn manuals_bucket(&self) -> String {
        manuals_bucket_name(&self.names.stage, &self.names.account_id)
    }

    pub fn audio_bucket(&self) -> String {
        format!(
            "manuel-audio-{}-{}",
            self.names.stage, self.names.account_id
        )
    }

    /// Values for the `{placeholders}` of function environments (names: [`STACK_VARS`]).
    pub fn vars(&self) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::from([
            ("region".into(), self.names.region.clone()),
            ("account_id".into(), self.names.account_id.clone()),
            ("stage".into(), self.names.stage.clone()),
            ("usage_table".into(), self.usage_table()),
            ("manuals_bucket".into(), self.manuals_bucket()),
            ("audio_bucket".into(), self.audio_bucket()),
            ("redis_host".into(), "127.0.0.1".into()),
            ("redis_port".into(), self.info.redis.port.to_string()),
            ("kb_id".into(), "LOCALKB0001".into()),
        ]);
        for t in &self.resources.tables {
            vars.insert(t.var.clone(), self.resource_name(&t.name));
        }
        for q in &self.resources.queues {
            let name = self.resource_name(&q.name);
            vars.insert(format!("{}_arn", q.var), self.queue_arn(&name));
            vars.insert(q.var.clone(), self.queue_url(&name));
        }
        for t in &self.resources.topics {
            vars.insert(t.var.clone(), self.topic_arn(&self.resource_name(&t.name)));
        }
        if let Some(c) = &self.info.cognito {
            vars.insert("user_pool_id".into(), c.pool_id.clone());
            vars.insert("app_client_id".into(), c.client_id.clone());
            for (user, sub) in &c.subs {
                vars.insert(format!("sub:{user}"), sub.clone());
            }
        }
        vars
    }

    /// A `[stack]` resource name with `{stage}`, `{region}` and `{account_id}` filled in.
    pub fn resource_name(&self, template: &str) -> String {
        self.names.resource_name(template)
    }

    /// The URL moto gives a queue (its host is the one the request went to).
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.moto_url(), self.names.account_id)
    }

    pub fn queue_arn(&self, name: &str) -> String {
        self.names.arn("sqs", name)
    }

    pub fn topic_arn(&self, name: &str) -> String {
        self.names.arn("sns", name)
    }

    /// The queue the stack subscribes to a topic to see what is published to it.
    pub fn observer_queue(topic: &str) -> String {
        format!("{topic}{OBSERVER_SUFFIX}")
    }

    /// The token minter of this stack's Cognito (`None` for a stack recorded without one).
    pub fn tokens(&self) -> Option<std::sync::Arc<super::cognito::Tokens>> {
        self.tokens
            .get_or_init(|| {
                let info = self.info.cognito.clone()?;
                Some(std::sync::Arc::new(super::cognito::Tokens::new(
                    &self.moto_url(),
                    &self.names.region,
                    info,
                    self.moto_key.clone(),
                )))
            })
            .clone()
    }

    /// Endpoint, region and credential variables that point an AWS SDK (Rust or boto3) at moto,
    /// and its Bedrock clients at the replay service; the transcript proxy's [`super::PROXY_VARS`]
    /// (which only functions with `transcripts = true` get).
    pub fn aws_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            ("AWS_ENDPOINT_URL".into(), self.moto_url()),
            ("AWS_REGION".into(), self.names.region.clone()),
            ("AWS_DEFAULT_REGION".into(), self.names.region.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_SESSION_TOKEN".into(), "testing".into()),
        ]);
        if let Some(b) = &self.info.bedrock {
            let url = format!("http://127.0.0.1:{}", b.port);
            for service in ["BEDROCK_RUNTIME", "BEDROCK_AGENT_RUNTIME", "BEDROCK_AGENT"] {
                env.insert(format!("AWS_ENDPOINT_URL_{service}"), url.clone());
            }
        }
        // Transcripts: HTTPS to S3 on amazonaws.com goes through the stack's proxy, which
        // serves them with a certificate of the stack's CA (see stack::transcripts). Both
        // spellings: urllib and reqwest read either, curl-based clients the lower-case one.
        if let (Some(t), Some(ca)) = (&self.info.transcripts, &self.info.ca_file) {
            let proxy = format!("http://127.0.0.1:{}", t.port);
            let ca = ca.display().to_string();
            for k in ["HTTPS_PROXY", "https_proxy"] {
                env.insert(k.into(), proxy.clone());
            }
            for k in ["NO_PROXY", "no_proxy"] {
                env.insert(k.into(), "127.0.0.1,localhost".into());
            }
            for k in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE"] {
                env.insert(k.into(), ca.clone());
            }
        }
        env
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.sdk
            .get_or_init(|| async {
                let creds = aws_sdk_s3::config::Credentials::new(
                    "testing",
                    "testing",
                    None,
                    None,
                    "local-stack",
                );
                aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.names.region.clone()))
                    .endpoint_url(self.moto_url())
                    .credentials_provider(creds)
                    .load()
                    .await
            })
            .await
            .clone()
    }

    /// Seed moto's random ids, then create the usage table, the manuals and audio buckets and
    /// the Cognito pools and users (idempotent for buckets and the table).
    pub async fn provision(&self) -> Result<super::cognito::CognitoInfo, StackError> {
        super::cognito::seed(&self.moto_url()).await?;
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let conf = self.sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        for bucket in [self.manuals_bucket(), self.audio_bucket()] {
            let loc = aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    self.names.region.as_str(),
                ))
                .build();
            if let Err(e) = s3
                .create_bucket()
                .bucket(&bucket)
                .create_bucket_configuration(loc)
                .send()
                .await
            {
                let already = e.as_service_error().is_some_and(|se| {
                    se.is_bucket_already_owned_by_you() || se.is_bucket_already_exists()
                });
                if !already {
                    return Err(StackError::Aws {
                        context: format!("create bucket {bucket}"),
                        message: aws_message(&e),
                    });
                }
            }
        }
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition")
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .expect("key schema")
        };
        let res = ddb
            .create_table()
            .table_name(self.usage_table())
            .attribute_definitions(attr("user_id"))
            .attribute_definitions(attr("date"))
            .key_schema(key("user_id", KeyType::Hash))
            .key_schema(key("date", KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        if let Err(e) = res {
            let exists = e
                .as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception());
            if !exists {
                return Err(StackError::Aws {
                    context: format!("create table {}", self.usage_table()),
                    message: aws_message(&e),
                });
            }
        }
        // Cognito first: moto's seeded random ids are drawn in call order, and the recordings
        // hold the pool's and users' ids; the `[stack]` resources draw after them.
        let cognito = super::cognito::provision(&conf, &self.names.stage).await?;
        self.provision_resources(&conf).await?;
        Ok(cognito)
    }

    /// The tables, queues and topics of `[stack]`, each topic with its observer queue.
    async fn provision_resources(&self, conf: &aws_config::SdkConfig) -> Result<(), StackError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let failed = |context: String| move |message: String| StackError::Aws { context, message };
        let ddb = aws_sdk_dynamodb::Client::new(conf);
        let key_schema = |key: &[String]| -> Vec<KeySchemaElement> {
            key.iter()
                .zip([KeyType::Hash, KeyType::Range])
                .filter_map(|(name, t)| {
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(t)
                        .build()
                        .ok()
                })
                .collect()
        };
        for t in &self.resources.tables {
            let name = self.resource_name(&t.name);
            let mut attrs: Vec<&String> = t.key.iter().collect();
            for ix in &t.indexes {
                attrs.extend(ix.key.iter());
            }
            attrs.sort();
            attrs.dedup();
            let mut req = ddb
                .create_table()
                .table_name(&name)
                .billing_mode(BillingMode::PayPerRequest)
                .set_key_schema(Some(key_schema(&t.key)));
            for a in attrs {
                if let Ok(def) = AttributeDefinition::builder()
                    .attribute_name(a)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                {
                    req = req.attribute_definitions(def);
                }
            }
            for ix in &t.indexes {
                let gsi = GlobalSecondaryIndex::builder()
                    .index_name(&ix.name)
                    .set_key_schema(Some(key_schema(&ix.key)))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(|e| failed(format!("index {} of {name}", ix.name))(e.to_string()))?;
                req = req.global_secondary_indexes(gsi);
            }
            if let Err(e) = req.send().await {
                let exists = e
                    .as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception());
                if !exists {
                    return Err(failed(format!("create table {name}"))(aws_message(&e)));
                }
            }
        }
        let sqs = aws_sdk_sqs::Client::new(conf);
        let sns = aws_sdk_sns::Client::new(conf);
        for q in &self.resources.queues {
            let name = self.resource_name(&q.name);
            sqs.create_queue()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| failed(format!("create queue {name}"))(aws_message(&e)))?;
        }
        for t in &self.resources.topics {
            let name = self.resource_name(&t.name);
            let arn = sns
                .create_topic()
                .name(&name)
                .send()
                .await
                .map_err(|e| failed(format!("create topic {name}"))(aws_message(&e)))?
                .topic_arn()
                .map(str::to_owned)
                .unwrap_or_else(|| self.topic_arn(&name));
            let observer = Self::observer_queue(&name);
            sqs.create_queue()
                .queue_name(&observer)
                .send()
                .await
                .map_err(|e| failed(format!("create queue {observer}"))(aws_message(&e)))?;
            sns.subscribe()
                .topic_arn(&arn)
                .protocol("sqs")
                .endpoint(self.queue_arn(&observer))
                .send()
                .await
                .map_err(|e| failed(format!("subscribe {observer} to {name}"))(aws_message(&e)))?;
        }
        Ok(())
    }

    /// Ask moto to keep its state as it is now (the freshly provisioned stack); see
    /// `moto_server_local.py`. `Ok(false)` when the server cannot (its error is logged).
    pub async fn checkpoint(&self) -> Result<bool, StackError> {
        self.local_api("checkpoint").await
    }

    /// POST `/__local/<what>` on moto: `Ok(true)` on 200, `Ok(false)` when it answered another
    /// status (logged), `Err` when it could not be reached.
    async fn local_api(&self, what: &str) -> Result<bool, StackError> {
        let url = format!("{}/__local/{what}", self.moto_url());
        let resp = self
            .http()
            .post(&url)
            .query(&[("region", &self.names.region)])
            .send()
            .await
            .map_err(|e| StackError::Service {
                service: format!("moto {what}"),
                message: e.to_string(),
            })?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if status.is_success() {
            tracing::debug!("moto {what}: {body}");
            Ok(true)
        } else if status == reqwest::StatusCode::NOT_FOUND {
            // A stack started by an older version: its moto has no checkpoints.
            tracing::debug!("moto {what}: not available");
            Ok(false)
        } else {
            tracing::warn!("moto {what} answered {status}: {body}");
            Ok(false)
        }
    }

    /// moto's own reading of the state a snapshot holds (`POST /__local/state`, see
    /// `moto_server_local.py`); `Ok(None)` when this moto cannot give it (a stack started by an
    /// older version, or an error it logged), and the snapshot reads through the SDK instead.
    pub async fn moto_state(&self) -> Result<Option<serde_json::Value>, StackError> {
        let url = format!("{}/__local/state", self.moto_url());
        let resp = self
            .http()
            .post(&url)
            .query(&[("region", self.names.region.as_str())])
            .send()
            .await
            .map_err(|e| StackError::Service {
                service: "moto state".into(),
                message: e.to_string(),
            })?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            if status != reqwest::StatusCode::NOT_FOUND {
                tracing::warn!("moto state answered {status}: {body}");
            }
            return Ok(None);
        }
        resp.json()
            .await
            .map(Some)
            .map_err(|e| StackError::Service {
                service: "moto state".into(),
                message: e.to_string(),
            })
    }

    /// Return every service to its freshly provisioned state: moto's checkpoint restored (or,
    /// without one, moto reset and provisioned again), Redis flushed.
    pub async fn reset(&self) -> Result<(), StackError> {
        match self.restore_seeded(None).await? {
            Restore::Done => Ok(()),
            Restore::Unavailable => {
                self.full_reset().await?;
                self.checkpoint().await?;
                Ok(())
            }
            Restore::SeedRefused(message) => Err(StackError::Service {
                service: "moto restore".into(),
                message,
            }),
        }
    }

    /// Restore moto's checkpoint and store `seed` (DynamoDB items and S3 objects, see
    /// `moto_server_local.py`) in the same request; Redis flushed. `Unavailable` when this moto
    /// has no checkpoint to restore (nothing was changed: reset and seed another way).
    pub async fn restore_seeded(
        &self,
        seed: Option<&serde_json::Value>,
    ) -> Result<Restore, StackError> {
        Ok(self.restore_reading(seed, false).await?.0)
    }

    /// [`Stack::restore_seeded`], and with `read` moto's reading of the state right after the
    /// restore and the seed (what [`Stack::moto_state`] would answer next) from the same
    /// request; `None` when this moto does not give it.
    pub async fn restore_reading(
        &self,
        seed: Option<&serde_json::Value>,
        read: bool,
    ) -> Result<(Restore, Option<serde_json::Value>), StackError> {
        let url = format!("{}/__local/restore", self.moto_url());
        let mut query = vec![("region", self.names.region.as_str())];
        if read {
            query.push(("state", "1"));
        }
        let mut req = self.http().post(&url).query(&query);
        if let Some(seed) = seed {
            req = req.json(seed);
        }
        let flush = redis::cmd("FLUSHALL");
        let (resp, ()) = tokio::try_join!(
            async {
                req.send().await.map_err(|e| StackError::Service {
                    service: "moto restore".into(),
                    message: e.to_string(),
                })
            },
            self.redis::<()>(&flush),
        )?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if status.is_success() {
            let mut answer: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| StackError::Service {
                    service: "moto restore".into(),
                    message: format!("unexpected answer: {e}"),
                })?;
            let state = answer
                .as_object_mut()
                .and_then(|o| o.remove("state"))
                .filter(|_| read);
            tracing::debug!("moto restore: {answer}");
            return Ok((Restore::Done, state));
        }
        if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(body);
            return Ok((Restore::SeedRefused(message), None));
        }
        if status != reqwest::StatusCode::NOT_FOUND {
            tracing::warn!("moto restore answered {status}: {body}");
        }
        Ok((Restore::Unavailable, None))
    }

    /// moto reset and provisioned again (the same ids: moto's seed), Redis flushed.
    pub async fn full_reset(&self) -> Result<(), StackError> {
        let url = format!("{}/moto-api/reset", self.moto_url());
        reqwest::Client::new()
            .post(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| StackError::Service {
                service: "moto reset".into(),
                message: e.to_string(),
            })?;
        self.redis::<()>(&redis::cmd("FLUSHALL")).await?;
        let cognito = self.provision().await?;
        // The seed makes the ids the same after every reset; recordings depend on it.
        if self.info.cognito.as_ref().is_some_and(|c| *c != cognito) {
            return Err(StackError::Service {
                service: "moto cognito-idp".into(),
                message: "the pools and users came back with other ids after a reset (is moto's seed endpoint working?)".into(),
            });
        }
        Ok(())
    }
}
