//! What a checkpoint is on an object store: its objects, their names, and the commit object
//! that makes one exist.
//!
//! Under the store's prefix, the checkpoint whose local file is `<name>` has:
//!
//! - `<name>/data/<run>-<n>`: a stretch of one of the local log's files, the `n`th object run
//!   `run` (a random id per process) uploaded. Each name is written once: a retry after a
//!   failure uploads under a new name, so no object a commit lists is ever replaced.
//! - `<name>/lease/`, `beat/`, `released/`: who may write (see `lease`).
//! - `<name>/commits/<generation>`: written only if absent (`PutMode::Create`), after the data
//!   it lists. It says which objects, joined in order, are the log, and what that log's newest
//!   record is. A checkpoint exists on the store if and only if its commit does, so a torn
//!   upload is never seen; a generation found taken means another writer got there first.
//!
//! A commit is `MAGIC`, a version byte, the [`Commit`] in postcard, and a CRC-32C of all that.
//! Without the `object-store` feature only the types are built (a run names [`Commit`]).

use serde::{Deserialize, Serialize};

#[cfg(feature = "object-store")]
use crate::format::checksum::crc32c;

#[cfg(feature = "object-store")]
const MAGIC: &[u8; 8] = b"RSMCOMMT";
#[cfg(feature = "object-store")]
const VERSION: u8 = 1;

/// The most objects a commit lists: past it the next upload sends the whole log as one
/// object, so that a commit (read whole at every resume) stays small.
#[cfg(feature = "object-store")]
pub(crate) const MAX_CHAIN: usize = 256;

/// One checkpoint on the store: a complete log, as the objects that hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Commit {
    /// Who wrote it, and under which epoch of the lease (see `lease`).
    pub writer: Writer,
    pub epoch: u64,
    /// The newest record of the log: its sequence number, index and time of saving.
    pub seq: u64,
    pub index: u64,
    pub saved_at_ms: u64,
    /// The log's length, and the CRC-32C of all its bytes.
    pub log_len: u64,
    pub log_crc: u32,
    /// The objects (names under `<name>/data/`) and their lengths, in order.
    pub chain: Vec<Stretch>,
}

#[cfg(feature = "object-store")]
impl Commit {
    /// A commit of no checkpoint, by `writer` under `epoch`: a fence over nothing, or the mark
    /// of a finished job.
    pub(crate) fn empty(writer: Writer, epoch: u64) -> Commit {
        Commit {
            writer,
            epoch,
            seq: 0,
            index: 0,
            saved_at_ms: 0,
            log_len: 0,
            log_crc: 0,
            chain: Vec::new(),
        }
    }
}

/// One object of a log on the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stretch {
    pub name: String,
    pub len: u64,
}

/// The process that wrote a commit, named in the messages of any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Writer {
    pub run: u64,
    pub host: String,
    pub pid: u32,
}

impl std::fmt::Display for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host {}, process {}, run {:016x}",
            self.host, self.pid, self.run
        )
    }
}

/// The name of a numbered object (a commit's generation, a lease's epoch): zero-padded, so
/// the names sort as the numbers do.
#[cfg(feature = "object-store")]
pub(crate) fn numbered(n: u64) -> String {
    format!("{n:020}")
}

/// The number a numbered object's name stands for; `None` for any other name.
#[cfg(feature = "object-store")]
pub(crate) fn number_of(name: &str) -> Option<u64> {
    (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

/// The name of run `run`'s `n`th data object.
#[cfg(feature = "object-store")]
pub(crate) fn data_name(run: u64, n: u64) -> String {
    format!("{run:016x}-{n:08}")
}

#[cfg(feature = "object-store")]
fn valid_data_name(name: &str) -> bool {
    name.len() == 25
        && name.as_bytes()[16] == b'-'
        && name[..16].bytes().all(|b| b.is_ascii_hexdigit())
        && name[17..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(feature = "object-store")]
pub(crate) fn encode(commit: &Commit) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.push(VERSION);
    bytes.extend_from_slice(&postcard::to_allocvec(commit).expect("a commit always encodes"));
    let crc = crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The commit `bytes` hold, or what is wrong with them: a commit is checked whole before
/// anything it lists is fetched.
#[cfg(feature = "object-store")]
pub(crate) fn decode(bytes: &[u8]) -> Result<Commit, String> {
    let Some((body, crc)) = bytes.split_last_chunk::<4>() else {
        return Err(format!(
            "it is {} bytes long, too short for a commit",
            bytes.len()
        ));
    };
    if !body.starts_with(MAGIC) {
        return Err("it is not a resumable commit (wrong magic bytes)".into());
    }
    if crc32c(body) != u32::from_le_bytes(*crc) {
        return Err("its checksum does not match: it is damaged".into());
    }
    let version = body[MAGIC.len()..].first().copied();
    if version != Some(VERSION) {
        return Err(format!(
            "it has format version {version:?}; this build reads version {VERSION}"
        ));
    }
    let (commit, rest): (Commit, _) = postcard::take_from_bytes(&body[MAGIC.len() + 1..])
        .map_err(|err| format!("it does not decode: {err}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes follow its end", rest.len()));
    }
    let total = commit
        .chain
        .iter()
        .try_fold(0u64, |sum, stretch| sum.checked_add(stretch.len));
    if total != Some(commit.log_len) {
        return Err("the lengths of its objects do not add up to the log's".into());
    }
    if let Some(bad) = commit.chain.iter().find(|s| !valid_data_name(&s.name)) {
        return Err(format!(
            "it names an object that is not ours ({:?})",
            bad.name
        ));
    }
    Ok(commit)
}

#[cfg(all(test, feature = "object-store"))]
mod tests {
    use super::*;

    fn commit() -> Commit {
        Commit {
            writer: Writer {
                run: 0xfeed,
                host: "node-7".into(),
                pid: 4242,
            },
            epoch: 3,
            seq: 9,
            index: 9000,
            saved_at_ms: 1_700_000_000_000,
            log_len: 150,
            log_crc: 0xdead_beef,
            chain: vec![
                Stretch {
                    name: data_name(0xfeed, 0),
                    len: 100,
                },
                Stretch {
                    name: data_name(0xfeed, 1),
                    len: 50,
                },
            ],
        }
    }

    #[test]
    fn a_commit_round_trips() {
        assert_eq!(decode(&encode(&commit())).unwrap(), commit());
    }

    /// Every cut and every flipped bit is refused: a commit is small, so all are tried.
    #[test]
    fn every_cut_and_bit_flip_is_refused() {
        let bytes = encode(&commit());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "cut at {len}");
        }
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&flipped).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn a_commit_whose_objects_do_not_add_up_or_are_not_ours_is_refused() {
        let mut short = commit();
        short.log_len = 151;
        assert!(decode(&encode(&short)).unwrap_err().contains("add up"));
        let mut foreign = commit();
        foreign.chain[1].name = "../../etc/passwd".into();
        assert!(decode(&encode(&foreign)).unwrap_err().contains("not ours"));
    }

    #[test]
    fn numbered_names_sort_as_their_numbers() {
        let names: Vec<String> = [1u64, 9, 10, 100, u64::MAX].map(numbered).into();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(number_of(&numbered(42)), Some(42));
        assert_eq!(number_of("42"), None);
        assert_eq!(number_of(&data_name(1, 2)), None);
    }
}
