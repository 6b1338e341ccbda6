//! Uploaded images: checked by their first bytes (JPEG, PNG, WebP), size-limited, stored
//! content-addressed through `object_store` (a folder under the data dir embedded, an
//! S3-compatible bucket distributed) and served back by their digest.
//!
//! An object is stored under its media id (the hex SHA-256 of its bytes) and nothing else:
//! the content type is told from the bytes again when it is served, so a store that keeps
//! no metadata (a folder) serves the same answer as one that does, and the same bytes
//! uploaded twice are one object.

use std::sync::Arc;

use bytes::Bytes;
use mart_platform::error::FieldViolation;
use mart_proto::{google::api::HttpBody, product as pb};
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, aws::AmazonS3Builder, local::LocalFileSystem, path::Path,
    prefix::PrefixStore,
};
use sha2::{Digest, Sha256};

use crate::{Config, error::Error};

/// How long a served image may be kept: a year, never revalidated (its id is its digest).
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The length of a media id: 32 bytes of SHA-256 in hex.
const ID_LEN: usize = 64;

/// Where media is kept, and how large an upload may be.
pub struct Media {
    store: Arc<dyn ObjectStore>,
    max_bytes: usize,
}

impl Media {
    /// The media store `config` names (`MART_MEDIA_URL`, default `<data dir>/media`).
    pub fn open(config: &Config) -> Result<Self, anyhow::Error> {
        let store: Arc<dyn ObjectStore> = match config.own.media_url.as_deref() {
            Some(url) if url.starts_with("s3://") => s3(url)?,
            Some(url) => folder(std::path::Path::new(url.strip_prefix("file://").unwrap_or(url)))?,
            None => folder(&config.data_dir.join("media"))?,
        };
        Ok(Self { store, max_bytes: config.own.media_max_bytes })
    }

    /// The largest upload, in bytes (`MART_MEDIA_MAX_BYTES`).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// UploadMedia: checks the bytes are an image of ours and not too large, then stores
    /// them under their digest (again, harmlessly, if they were there already).
    pub async fn upload(&self, request: pb::UploadMediaRequest) -> Result<pb::UploadMediaResponse, Error> {
        let data = request.body.map(|body| body.data).unwrap_or_default();
        if data.len() > self.max_bytes {
            return Err(Error::MediaTooLarge { size: data.len(), limit: self.max_bytes });
        }
        let Some(kind) = sniff(&data) else {
            let message = if data.is_empty() {
                "the body is empty: send the image's bytes"
            } else {
                "not a JPEG, PNG or WebP image (told from its first bytes, whatever its name or Content-Type)"
            };
            return Err(FieldViolation::new("body", message).into());
        };
        let media_id = hex::encode(Sha256::digest(&data));
        let size_bytes = data.len() as i64;
        self.store.put(&Path::from(media_id.as_str()), PutPayload::from(Bytes::from(data))).await.map_err(store)?;
        Ok(pb::UploadMediaResponse { url: url(&media_id), media_id, content_type: kind.to_owned(), size_bytes })
    }

    /// GetMedia: the bytes under `media_id` with the type they are.
    pub async fn get(&self, request: pb::GetMediaRequest) -> Result<HttpBody, Error> {
        let media_id = checked_id(&request.media_id)?;
        let data = match self.store.get(&Path::from(media_id)).await {
            Ok(found) => found.bytes().await.map_err(store)?,
            Err(object_store::Error::NotFound { .. }) => return Err(Error::NotFound("media")),
            Err(error) => return Err(store(error)),
        };
        let content_type = sniff(&data).ok_or_else(|| Error::Internal(format!("media {media_id} is not an image")))?;
        Ok(HttpBody { content_type: content_type.to_owned(), data: data.to_vec(), extensions: vec![] })
    }

    /// Whether `media_id` was uploaded (an image may only name media that was).
    pub async fn exists(&self, media_id: &str) -> Result<bool, Error> {
        let Ok(media_id) = checked_id(media_id) else { return Ok(false) };
        match self.store.head(&Path::from(media_id)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(store(error)),
        }
    }
}

/// Where the media `media_id` is served.
pub fn url(media_id: &str) -> String {
    format!("/v1/media/{media_id}")
}

/// The content type of an image of one of the three formats, told from its first bytes.
pub fn sniff(data: &[u8]) -> Option<&'static str> {
    match data {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// `media_id` if it is one (64 lower-case hex digits), else the field named.
fn checked_id(media_id: &str) -> Result<&str, Error> {
    if media_id.len() == ID_LEN && media_id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(media_id)
    } else {
        Err(FieldViolation::new("media_id", "a media id is 64 lower-case hex digits (UploadMedia returns it)").into())
    }
}

/// A folder of media, made if missing.
fn folder(dir: &std::path::Path) -> Result<Arc<dyn ObjectStore>, anyhow::Error> {
    std::fs::create_dir_all(dir).map_err(|error| anyhow::anyhow!("cannot make {}: {error}", dir.display()))?;
    Ok(Arc::new(LocalFileSystem::new_with_prefix(dir)?))
}

/// The bucket (and prefix) of `s3://bucket/prefix`, with credentials, region and endpoint
/// from the usual `AWS_*` variables.
fn s3(url: &str) -> Result<Arc<dyn ObjectStore>, anyhow::Error> {
    let rest = url.trim_start_matches("s3://");
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket = AmazonS3Builder::from_env().with_bucket_name(bucket).build()?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() { Arc::new(bucket) } else { Arc::new(PrefixStore::new(bucket, prefix)) })
}

/// A media store that failed (an S3 outage, a full disk).
fn store(error: object_store::Error) -> Error {
    Error::MediaStore(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_first_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\x00\x10JFIF"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None, "a RIFF that is not WebP");
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"\x89PNG"), None, "cut short");
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn media_ids_are_sha256_hex() {
        let id = hex::encode(Sha256::digest(b"x"));
        assert_eq!(checked_id(&id).unwrap(), id);
        assert!(checked_id(&id.to_uppercase()).is_err());
        assert!(checked_id(&id[1..]).is_err());
        assert!(checked_id("../../etc/passwd").is_err());
        assert!(checked_id("0190b4c4-0000-7000-8000-000000000000").is_err());
    }

    #[test]
    fn an_s3_url_opens_its_bucket_and_prefix() {
        // Building the client reads the environment but calls nobody.
        let bucket = s3("s3://shop-media").unwrap();
        assert!(bucket.to_string().contains("shop-media"), "{bucket}");
        let prefixed = s3("s3://shop-media/prod/images/").unwrap();
        assert_eq!(prefixed.to_string(), "PrefixObjectStore(prod/images)");
    }
}
