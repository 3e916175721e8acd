//! The store a URL names (`s3://`, `gs://`, `az://`, `file://`, `memory://`) and the prefix
//! in it, with few quick retries; and the checkpoints under a store's prefix.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use object_store::ObjectStore;
use object_store::path::Path;

use crate::error::Error;

use super::reason;

/// The names of the checkpoints under the store `url`'s prefix (`<name>.ckpt`), sorted.
pub(crate) async fn checkpoint_names(url: &str) -> Result<Vec<String>, Error> {
    let fail = |action, problem| Error::Store {
        url: url.to_owned(),
        name: String::new(),
        action,
        problem,
    };
    let (store, prefix) = open(url).map_err(|problem| fail("open", problem))?;
    let listed = store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|err| fail("list", reason(&err)))?;
    let mut names: Vec<String> = listed
        .common_prefixes
        .iter()
        .filter_map(|dir| dir.filename())
        .filter(|name| name.ends_with(".ckpt"))
        .map(str::to_owned)
        .collect();
    names.sort();
    Ok(names)
}

/// The store `url` names, and the prefix in it.
pub(super) fn open(url: &str) -> Result<(Arc<dyn ObjectStore>, Path), String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("it is not a URL ({err})"))?;
    let prefix = || {
        Path::from_url_path(parsed.path()).map_err(|err| format!("its path is not valid ({err})"))
    };
    let built: Result<Arc<dyn ObjectStore>, object_store::Error> = match parsed.scheme() {
        "s3" | "s3a" => {
            use object_store::ClientConfigKey as Client;
            use object_store::aws::AmazonS3ConfigKey as Key;
            let mut builder = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .with_retry(retry());
            // Short enough that a start against a dead endpoint fails in seconds, unless the
            // environment says otherwise.
            for (key, value) in [(Client::ConnectTimeout, "5s"), (Client::Timeout, "60s")] {
                if builder.get_config_value(&Key::Client(key)).is_none() {
                    builder = builder.with_config(Key::Client(key), value);
                }
            }
            builder
                .build()
                .map(|store| Arc::new(store) as Arc<dyn ObjectStore>)
        }
        #[cfg(feature = "object-store-gcp")]
        "gs" => object_store::gcp::GoogleCloudStorageBuilder::from_env()
            .with_url(url)
            .with_retry(retry())
            .build()
            .map(|store| Arc::new(store) as Arc<dyn ObjectStore>),
        #[cfg(feature = "object-store-azure")]
        "az" | "azure" | "abfs" | "abfss" => object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_url(url)
            .with_retry(retry())
            .build()
            .map(|store| Arc::new(store) as Arc<dyn ObjectStore>),
        "file" => {
            let (store, path) = object_store::parse_url(&parsed).map_err(|err| reason(&err))?;
            return Ok((Arc::from(store), path));
        }
        "memory" => {
            // One per process, so that every run in it sees the same objects (tests).
            static MEMORY: OnceLock<Arc<object_store::memory::InMemory>> = OnceLock::new();
            let store = MEMORY.get_or_init(Default::default);
            let path = format!("{}{}", parsed.host_str().unwrap_or(""), parsed.path());
            let path = Path::parse(path.trim_matches('/')).map_err(|err| err.to_string())?;
            return Ok((Arc::clone(store) as Arc<dyn ObjectStore>, path));
        }
        // One arm per feature: with both on, a shared arm would be unreachable.
        #[cfg(not(feature = "object-store-gcp"))]
        "gs" => return Err(feature_needed("gs", "object-store-gcp")),
        #[cfg(not(feature = "object-store-azure"))]
        scheme @ ("az" | "azure" | "abfs" | "abfss") => {
            return Err(feature_needed(scheme, "object-store-azure"));
        }
        other => {
            return Err(format!(
                "`{other}://` is not a store this build knows: use s3://, gs://, az://, \
                 file:// or memory://"
            ));
        }
    };
    Ok((built.map_err(|err| reason(&err))?, prefix()?))
}

/// Few quick retries: the uploader retries on its own, and a start must not hang minutes on
/// a store that is down.
/// Why a store URL of a scheme this build was compiled without cannot be opened.
#[cfg(any(not(feature = "object-store-gcp"), not(feature = "object-store-azure")))]
fn feature_needed(scheme: &str, feature: &str) -> String {
    format!("`{scheme}://` needs resumable's `{feature}` feature")
}

fn retry() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::open;

    /// A scheme whose feature is off names the feature that turns it on.
    #[test]
    fn a_store_of_a_feature_not_built_names_the_feature() {
        let problem = |url| open(url).err().unwrap_or_default();
        if cfg!(not(feature = "object-store-gcp")) {
            assert_eq!(
                problem("gs://bucket/jobs"),
                "`gs://` needs resumable's `object-store-gcp` feature"
            );
        }
        if cfg!(not(feature = "object-store-azure")) {
            assert_eq!(
                problem("abfs://container/jobs"),
                "`abfs://` needs resumable's `object-store-azure` feature"
            );
        }
        assert!(problem("ftp://host/jobs").contains("not a store this build knows"));
    }
}
