//! The subcommands given a store URL (`s3://bucket/prefix`), and the store's lag in `show`;
//! as text, and as the JSON documents of `json.rs`. Built without the `object-store` feature,
//! each says how to get it.

#[cfg(feature = "object-store")]
pub(crate) use with_store::{check, lag, lag_json, list, list_json, reset, show, show_json};

#[cfg(not(feature = "object-store"))]
pub(crate) use without_store::{check, lag, lag_json, list, list_json, reset, show, show_json};

#[cfg(feature = "object-store")]
mod with_store {
    use std::fmt::Write as _;
    use std::path::Path;

    use resumable::inspect::{self, StoreCheckpointInfo, StoreCommitInfo};

    use crate::json::{self, Listing, StoreCheckpoint, StoreLag, StoreShow};
    use crate::{Done, Failure, row, table};

    pub(crate) fn list(url: &str) -> Result<String, String> {
        let checkpoints = inspect::inspect_store(url).map_err(|err| err.with_causes())?;
        if checkpoints.is_empty() {
            return Ok(format!("no checkpoints on the store {url}\n"));
        }
        let mut rows = vec![row(&[
            "NAME", "INDEX", "AGE", "SIZE", "OBJECTS", "LEASE", "HEALTH",
        ])];
        for info in &checkpoints {
            let newest = info.newest.as_ref();
            rows.push(vec![
                info.name.clone(),
                newest.map_or("-".into(), |commit| commit.index.to_string()),
                newest.map_or("-".into(), |commit| inspect::age(commit.saved_at_ms)),
                newest.map_or("-".into(), |commit| inspect::size_text(commit.size)),
                newest.map_or("-".into(), |commit| commit.objects.to_string()),
                info.lease.text(),
                info.health().to_string(),
            ]);
        }
        Ok(table(&rows, &[1, 3, 4]))
    }

    pub(crate) fn show(url: &str, name: &str) -> Result<String, String> {
        let info = found(url, name)?;
        let mut out = String::new();
        let fields = vec![
            row(&["checkpoint", &info.name]),
            row(&["store", url]),
            vec![
                "newest".into(),
                info.newest
                    .as_ref()
                    .map_or_else(|| "none".into(), commit_text),
            ],
            row(&["lease", &info.lease.text()]),
            row(&["health", &info.health().to_string()]),
        ];
        out.push_str(&table(&fields, &[]));
        if info.newest.is_none() {
            return Ok(out);
        }
        let shown = fetched(url, name, |scratch| crate::show(scratch, name))?;
        let _ = writeln!(out, "\nits log, fetched from the store and checked:");
        out.push_str(
            shown
                .as_deref()
                .unwrap_or("\nits checkpoint was removed from the store meanwhile\n"),
        );
        Ok(out)
    }

    /// `read` of a copy of checkpoint `name`'s log, fetched and checked like a run fetches
    /// it into a scratch directory (removed after); `None` if the store holds none.
    fn fetched<T>(
        url: &str,
        name: &str,
        read: impl FnOnce(&Path) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        let scratch = std::env::temp_dir().join(format!("resumable-show-{}", std::process::id()));
        let shown = match inspect::fetch_from_store(url, name, &scratch) {
            Ok(Some(_)) => read(&scratch).map(Some),
            Ok(None) => Ok(None),
            Err(err) => Err(err.with_causes()),
        };
        let _ = std::fs::remove_dir_all(&scratch);
        shown
    }

    pub(crate) fn list_json(url: &str) -> Result<String, String> {
        let checkpoints = inspect::inspect_store(url).map_err(|err| err.with_causes())?;
        json::text(&Listing {
            kind: "store",
            location: url.to_owned(),
            checkpoints: checkpoints.iter().map(StoreCheckpoint::of).collect(),
            set_aside: Vec::new(),
        })
    }

    pub(crate) fn show_json(url: &str, name: &str) -> Result<String, String> {
        let info = found(url, name)?;
        let log = match info.newest {
            Some(_) => fetched(url, name, |scratch| json::show_value(scratch, name))?,
            None => None,
        };
        json::text(&StoreShow {
            checkpoint: StoreCheckpoint::of(&info),
            location: url.to_owned(),
            log,
        })
    }

    /// `check` of a store: a checkpoint is damaged when a commit newer than its newest
    /// intact one cannot be used.
    pub(crate) fn check(url: &str, name: Option<&str>) -> Result<Done, Failure> {
        let checkpoints = match name {
            Some(name) => vec![found(url, name)?],
            None => inspect::inspect_store(url).map_err(|err| err.with_causes())?,
        };
        let results = checkpoints
            .iter()
            .map(|info| {
                let damaged = !info.damaged.is_empty();
                let text = match (damaged, &info.newest) {
                    (true, Some(newest)) => format!(
                        "damaged: {}; a run warns and resumes from index {} (generation {})",
                        info.health(),
                        newest.index,
                        newest.generation
                    ),
                    (true, None) => format!(
                        "damaged: {}; no intact commit is left to resume from",
                        info.health()
                    ),
                    (false, Some(_)) => "ok".into(),
                    (false, None) => "ok: no checkpoint on the store, a run starts over".into(),
                };
                (info.name.clone(), damaged, text)
            })
            .collect();
        Ok(crate::check::report(&format!("the store {url}"), results))
    }

    pub(crate) fn reset(url: &str, name: &str) -> Result<String, String> {
        let reset = inspect::reset_on_store(url, name).map_err(|err| err.with_causes())?;
        let was = reset.was.as_ref().map_or_else(
            || "it held no checkpoint".into(),
            |commit| format!("it held {}", commit_text(commit)),
        );
        Ok(format!(
            "checkpoint {name} on the store {url} is reset: generation {} is empty, so a run \
             without a local checkpoint starts over ({was}; nothing was deleted: older \
             generations go once a new run has committed two)\n",
            reset.generation
        ))
    }

    /// The `store` row of a local checkpoint's `show`: how far the store is behind it.
    pub(crate) fn lag(url: &str, dir: &Path, name: &str) -> Result<String, String> {
        let local = inspect::inspect(&inspect::checkpoint_path(dir, name));
        let text = match inspect::inspect_store_checkpoint(url, name) {
            Err(err) => format!("cannot be read: {}", err.with_causes()),
            Ok(None) => format!("{url} holds nothing of it"),
            Ok(Some(store)) => match (&store.newest, local.index()) {
                (None, _) => format!("{url} holds no checkpoint of it ({})", store.lease.text()),
                (Some(newest), Some(index)) => format!(
                    "{url}: {}, {} iterations behind this one",
                    commit_text(newest),
                    inspect::store_lag(index, &store).unwrap_or(0)
                ),
                (Some(newest), None) => format!("{url}: {}", commit_text(newest)),
            },
        };
        Ok(format!("\nstore  {text}\n"))
    }

    /// The `store` field of a local checkpoint's `show --json`.
    pub(crate) fn lag_json(url: &str, dir: &Path, name: &str) -> Result<StoreLag, String> {
        let local = inspect::inspect(&inspect::checkpoint_path(dir, name));
        let (error, store) = match inspect::inspect_store_checkpoint(url, name) {
            Err(err) => (Some(err.with_causes()), None),
            Ok(store) => (None, store),
        };
        Ok(StoreLag {
            location: url.to_owned(),
            error,
            behind: store
                .as_ref()
                .zip(local.index())
                .and_then(|(store, index)| inspect::store_lag(index, store)),
            checkpoint: store.as_ref().map(StoreCheckpoint::of),
        })
    }

    fn found(url: &str, name: &str) -> Result<StoreCheckpointInfo, String> {
        match inspect::inspect_store_checkpoint(url, name) {
            Ok(Some(info)) => Ok(info),
            Ok(None) => {
                let names: Vec<String> = inspect::inspect_store(url)
                    .map_err(|err| err.with_causes())?
                    .into_iter()
                    .map(|info| info.name)
                    .collect();
                let there = if names.is_empty() {
                    "there are none".to_owned()
                } else {
                    format!("there are: {}", names.join(", "))
                };
                Err(format!(
                    "no checkpoint named {name} on the store {url}; {there}"
                ))
            }
            Err(err) => Err(err.with_causes()),
        }
    }

    fn commit_text(commit: &StoreCommitInfo) -> String {
        format!(
            "index {}, saved {} ago (generation {}, {} in {} object{}, by {})",
            commit.index,
            inspect::age(commit.saved_at_ms),
            commit.generation,
            inspect::size_text(commit.size),
            commit.objects,
            if commit.objects == 1 { "" } else { "s" },
            commit.writer
        )
    }
}

#[cfg(not(feature = "object-store"))]
mod without_store {
    use std::path::Path;

    use crate::json::StoreLag;
    use crate::{Done, Failure};

    fn unavailable(url: &str) -> String {
        format!(
            "{url} is a store, and this resumable command was built without its \
             `object-store` feature: install it with the default features"
        )
    }

    pub(crate) fn list(url: &str) -> Result<String, String> {
        Err(unavailable(url))
    }

    pub(crate) fn show(url: &str, _name: &str) -> Result<String, String> {
        Err(unavailable(url))
    }

    pub(crate) fn reset(url: &str, _name: &str) -> Result<String, String> {
        Err(unavailable(url))
    }

    pub(crate) fn lag(url: &str, _dir: &Path, _name: &str) -> Result<String, String> {
        Err(unavailable(url))
    }

    pub(crate) fn list_json(url: &str) -> Result<String, String> {
        Err(unavailable(url))
    }

    pub(crate) fn show_json(url: &str, _name: &str) -> Result<String, String> {
        Err(unavailable(url))
    }

    pub(crate) fn check(url: &str, _name: Option<&str>) -> Result<Done, Failure> {
        Err(Failure::Error(unavailable(url)))
    }

    pub(crate) fn lag_json(url: &str, _dir: &Path, _name: &str) -> Result<StoreLag, String> {
        Err(unavailable(url))
    }
}
