//! The audio path: upload the recording to the audio bucket, run an Amazon Transcribe job,
//! poll it (6 × 4 s), fetch the transcript, clean up. Any failure gives an empty transcript
//! (the handler then answers 400 "Failed to transcribe audio"), as in Python.
//!
//! Locally this runs against moto up to the transcript download: moto completes the job but
//! points at a transcript on amazonaws.com, which cannot be fetched here, so both sides end in
//! the failure path (see the `audio-*` fixtures' notes).

use crate::Clients;
use manuel_shared::py::PyException;
use manuel_shared::pyvalue::PyValue;
use std::time::Duration;

/// Media format from the content type, as the handler picks it.
pub fn media_format(content_type: &str) -> &'static str {
    let ct = content_type.to_lowercase();
    if ct.contains("wav") {
        "wav"
    } else if ct.contains("mp3") {
        "mp3"
    } else if ct.contains("mp4") || ct.contains("m4a") {
        "mp4"
    } else if ct.contains("flac") {
        "flac"
    } else {
        "wav"
    }
}

/// Transcribe the base64 audio; "" on any failure.
pub async fn transcribe(
    c: &Clients,
    bucket: &str,
    file_data: &PyValue,
    content_type: &PyValue,
) -> String {
    let job_name = format!("transcribe-{}", uuid::Uuid::new_v4());
    let audio_key = format!("temp-audio/{job_name}.wav");
    match run(c, bucket, &job_name, &audio_key, file_data, content_type).await {
        Ok(text) => text,
        Err(e) => {
            tracing::warn!("Transcription error: {}", e.message);
            if let Err(e) =
                c.s3.delete_object()
                    .bucket(bucket)
                    .key(&audio_key)
                    .send()
                    .await
            {
                tracing::warn!("Failed to cleanup audio file: {e}");
            }
            if let Err(e) = c
                .transcribe
                .delete_transcription_job()
                .transcription_job_name(&job_name)
                .send()
                .await
            {
                tracing::warn!("Failed to cleanup transcription job: {e}");
            }
            String::new()
        }
    }
}

async fn run(
    c: &Clients,
    bucket: &str,
    job_name: &str,
    audio_key: &str,
    file_data: &PyValue,
    content_type: &PyValue,
) -> Result<String, PyException> {
    use aws_sdk_transcribe::types::{LanguageCode, Media, MediaFormat, TranscriptionJobStatus};
    let encode_error = |e: manuel_shared::pyvalue::UnicodeEncodeError| {
        PyException::new("UnicodeEncodeError", e.to_string())
    };
    let client_error = |e: String| PyException::new("ClientError", e);
    let audio = file_data.b64decode()?;
    // boto3 validates ContentType as a string before sending.
    let content_type = match content_type {
        PyValue::Str(s) => s.to_str().map_err(encode_error)?.to_owned(),
        other => {
            return Err(PyException::new(
                "ParamValidationError",
                format!(
                    "Invalid type for parameter ContentType: {}",
                    other.type_name()
                ),
            ))
        }
    };
    c.s3.put_object()
        .bucket(bucket)
        .key(audio_key)
        .body(audio.into())
        .content_type(&content_type)
        .send()
        .await
        .map_err(|e| client_error(e.to_string()))?;
    c.transcribe
        .start_transcription_job()
        .transcription_job_name(job_name)
        .media(
            Media::builder()
                .media_file_uri(format!("s3://{bucket}/{audio_key}"))
                .build(),
        )
        .media_format(MediaFormat::from(media_format(&content_type)))
        .language_code(LanguageCode::EnUs)
        .send()
        .await
        .map_err(|e| client_error(e.to_string()))?;
    for _ in 0..6 {
        let job = c
            .transcribe
            .get_transcription_job()
            .transcription_job_name(job_name)
            .send()
            .await
            .map_err(|e| client_error(e.to_string()))?;
        let job = job
            .transcription_job()
            .ok_or_else(|| PyException::new("KeyError", "no TranscriptionJob in the answer"))?;
        match job.transcription_job_status() {
            Some(TranscriptionJobStatus::Completed) => {
                let uri = job
                    .transcript()
                    .and_then(|t| t.transcript_file_uri())
                    .ok_or_else(|| PyException::key_error("TranscriptFileUri"))?;
                let doc: serde_json::Value = reqwest::get(uri)
                    .await
                    .map_err(|e| PyException::new("URLError", format!("<urlopen error {e}>")))?
                    .json()
                    .await
                    .map_err(|e| PyException::new("JSONDecodeError", e.to_string()))?;
                let text = doc["results"]["transcripts"][0]["transcript"]
                    .as_str()
                    .ok_or_else(|| PyException::new("KeyError", "no transcript in the result"))?
                    .to_owned();
                let _ =
                    c.s3.delete_object()
                        .bucket(bucket)
                        .key(audio_key)
                        .send()
                        .await;
                let _ = c
                    .transcribe
                    .delete_transcription_job()
                    .transcription_job_name(job_name)
                    .send()
                    .await;
                return Ok(text);
            }
            Some(TranscriptionJobStatus::Failed) => {
                return Err(PyException::new(
                    "Exception",
                    format!(
                        "Transcription failed: {}",
                        job.failure_reason().unwrap_or("Unknown error")
                    ),
                ))
            }
            // The local gate skips the wait (it replays the same reads; see runtime.rs).
            _ if manuel_shared::runtime::local_waits_skipped() => tokio::task::yield_now().await,
            _ => tokio::time::sleep(Duration::from_secs(4)).await,
        }
    }
    Err(PyException::new(
        "Exception",
        "Transcription timeout - please try with a shorter audio clip",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_as_lenient_as_python() {
        assert_eq!(manuel_shared::py::b64decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(
            manuel_shared::py::b64decode("aGVs bG8=!!").unwrap(),
            b"hello"
        );
        assert_eq!(
            manuel_shared::py::b64decode("aGVsbG8=trailing").unwrap(),
            b"hello"
        );
        assert_eq!(
            manuel_shared::py::b64decode("aGVsbG8").unwrap_err(),
            PyException::new("Error", "Incorrect padding")
        );
        assert!(manuel_shared::py::b64decode("a").is_err());
        assert!(manuel_shared::py::b64decode("é").is_err());
        assert_eq!(manuel_shared::py::b64decode("").unwrap(), b"");
    }

    #[test]
    fn media_formats() {
        assert_eq!(media_format("audio/MP3"), "mp3");
        assert_eq!(media_format("audio/x-m4a"), "mp4");
        assert_eq!(media_format("audio/ogg"), "wav");
    }
}
