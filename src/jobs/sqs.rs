//! The shared backlog of a fleet (BACKGROUND_QUEUE=sqs): one SQS queue every instance sends
//! its jobs' paths to and every instance's workers take them from. A message is one path
//! ([`QueueMessage`]); a worker receives one at a time by long poll, hidden from the others for
//! BACKGROUND_VISIBILITY_TIMEOUT_SECONDS (more than a render may take), and deletes it only
//! once the result is stored. A worker that dies mid-render leaves it to reappear for another;
//! a render that fails leaves it too, so the queue's redrive policy (maxReceiveCount, set on
//! the queue) moves a path that keeps failing to its dead-letter queue.

use super::message::QueueMessage;
use super::settings::BackgroundSettings;
use crate::error::{cause_chain, PictorError};
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use std::time::Duration;

/// SQS takes at most 10 messages per batch.
const BATCH: usize = 10;

/// A receive waits this long for a message before answering none (SQS's longest long poll).
const LONG_POLL_SECONDS: i32 = 20;

/// The queue's client and URL.
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    visibility_timeout: Duration,
}

/// A message taken from the queue: its body, and the handle that deletes it.
pub struct Received {
    pub body: String,
    pub receipt: String,
}

fn unavailable(what: &str, e: &(dyn std::error::Error + 'static)) -> PictorError {
    PictorError::Overloaded(format!(
        "background queue {what} failed: {}",
        cause_chain(e)
    ))
}

impl SqsQueue {
    /// The client for BACKGROUND_QUEUE_URL; credentials from the standard AWS chain, resolved
    /// on first use (building it needs no network).
    pub fn new(settings: &BackgroundSettings) -> SqsQueue {
        let mut builder = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.sqs_region.clone()))
            .credentials_provider(crate::storage::s3::default_credentials(
                &settings.sqs_region,
            ))
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::standard().with_max_attempts(3));
        if let Some(endpoint) = &settings.sqs_endpoint_url {
            builder = builder.endpoint_url(endpoint);
        }
        SqsQueue {
            client: aws_sdk_sqs::Client::from_conf(builder.build()),
            url: settings.queue_url.clone().unwrap_or_default(),
            visibility_timeout: settings.visibility_timeout,
        }
    }

    /// Sends one message per path, in batches of ten sent together. An error when any could
    /// not be sent (those sent are still rendered: renders are idempotent).
    pub async fn send(&self, messages: &[QueueMessage]) -> Result<(), PictorError> {
        let batches = messages.chunks(BATCH).map(|batch| async move {
            let mut request = self.client.send_message_batch().queue_url(&self.url);
            for (index, message) in batch.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(message.to_body())
                    .build()
                    .map_err(|e| PictorError::Internal(format!("queue message: {e}")))?;
                request = request.entries(entry);
            }
            let sent = request.send().await.map_err(|e| unavailable("send", &e))?;
            match sent.failed().first() {
                None => Ok(()),
                Some(failed) => Err(PictorError::Overloaded(format!(
                    "background queue refused a message: {}",
                    failed.message().unwrap_or(failed.code())
                ))),
            }
        });
        futures_util::future::try_join_all(batches).await?;
        Ok(())
    }

    /// The next message, waiting up to 20 s for one (`None` then); hidden from the other
    /// instances for the visibility timeout.
    pub async fn receive(&self) -> Result<Option<Received>, PictorError> {
        let answer = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(1)
            .wait_time_seconds(LONG_POLL_SECONDS)
            .visibility_timeout(i32::try_from(self.visibility_timeout.as_secs()).unwrap_or(43_200))
            .send()
            .await
            .map_err(|e| unavailable("receive", &e))?;
        Ok(answer.messages().first().map(|message| Received {
            body: message.body().unwrap_or_default().to_string(),
            receipt: message.receipt_handle().unwrap_or_default().to_string(),
        }))
    }

    /// Deletes a message whose path is done.
    pub async fn delete(&self, receipt: &str) -> Result<(), PictorError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| unavailable("delete", &e))?;
        Ok(())
    }
}
