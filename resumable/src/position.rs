//! [`Position`]: iterators that can say where they stand and go back there in one step.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An iterator that can report where it stands and be put back there, in O(1).
///
/// A resumed `for` loop has to get its iterator past the items the interrupted run already
/// processed. An ordinary iterator can only be driven past them one by one (`nth`), which for
/// a big file means reading everything before the resume point again. An iterator that
/// implements `Position` saves its position with each checkpoint instead, and a resume hands
/// it to [`resume_at`](Position::resume_at) on a fresh iterator: one seek, one query.
///
/// The contract:
/// - [`position`](Position::position) is where the iterator stands after the items it has
///   yielded so far: the next item it would yield is the first one a resume must see.
/// - [`resume_at`](Position::resume_at), called on a freshly created iterator over the same
///   source with a value `position` returned, makes it yield exactly the items the original
///   iterator would have yielded after that point. It must either do that or return an
///   [`Error`](crate::Error) that says why it cannot (the source changed, shrank or is gone)
///   and how to start over; never carry on from somewhere else.
/// - `Saved` goes through serde into the checkpoint, so it should be small: an offset, a key,
///   a token, never the items themselves.
///
/// A `#[resumable]` loop whose iterator implements it saves the position with each checkpoint
/// and resumes with `resume_at`: write `for row in rows` over your iterator and nothing else
/// changes. The position is taken at checkpoint boundaries only, so `position` may cost a
/// little (a hash, a clone of a key), never I/O the loop waits on if it can be helped.
///
/// [`io::Lines`](crate::io::Lines) implements it for the lines of a file (a byte offset and a
/// fingerprint of the bytes before it), [`io::Records`](crate::io::Records) for the records of
/// a file separated by a delimiter byte, and `io::Csv` (the `csv` feature) for the records of
/// a CSV file.
///
/// # Implementing it
///
/// A database cursor paged by key (keyset pagination: `WHERE id > $last ORDER BY id`) saves
/// the last key it yielded, and resumes by querying after it. A paginated API saves the token
/// of the page it is on and how many items of that page it has yielded. Both sketched here
/// over stand-ins for the database and the API:
///
/// ```
/// use resumable::{Error, Position};
/// use serde::{Deserialize, Serialize};
///
/// /// Rows `(id, name)` read in pages of `SELECT … WHERE id > ? ORDER BY id LIMIT 100`.
/// struct Rows<'db> {
///     db: &'db [(u64, String)], // stands in for a connection
///     last: Option<u64>,        // the key of the last row yielded
///     page: Vec<(u64, String)>,
/// }
///
/// impl Rows<'_> {
///     fn query_after(&self, last: Option<u64>) -> Vec<(u64, String)> {
///         let mut rows: Vec<_> = self.db.iter().filter(|r| Some(r.0) > last).cloned().collect();
///         rows.sort();
///         rows.truncate(100);
///         rows.reverse(); // popped from the end
///         rows
///     }
/// }
///
/// impl Iterator for Rows<'_> {
///     type Item = (u64, String);
///     fn next(&mut self) -> Option<(u64, String)> {
///         if self.page.is_empty() {
///             self.page = self.query_after(self.last);
///         }
///         let row = self.page.pop()?;
///         self.last = Some(row.0);
///         Some(row)
///     }
/// }
///
/// impl Position for Rows<'_> {
///     // The last key: a resume asks for the rows after it, so rows inserted or deleted
///     // behind the cursor do not shift it (an OFFSET would).
///     type Saved = Option<u64>;
///     fn position(&self) -> Option<u64> {
///         self.last
///     }
///     fn resume_at(&mut self, last: Option<u64>) -> Result<(), Error> {
///         self.last = last;
///         self.page.clear();
///         Ok(())
///     }
/// }
///
/// /// Items of an API that answers `GET /items?page=<token>` with items and the next token.
/// struct Items<'api> {
///     api: &'api dyn Fn(&str) -> (Vec<String>, Option<String>),
///     token: Option<String>, // the page being yielded (None: done)
///     page: Option<(Vec<String>, Option<String>)>, // its items and the next token, once fetched
///     taken: usize, // items of that page already yielded
/// }
///
/// #[derive(Serialize, Deserialize)]
/// struct PageAt {
///     token: Option<String>,
///     taken: usize,
/// }
///
/// impl Iterator for Items<'_> {
///     type Item = String;
///     fn next(&mut self) -> Option<String> {
///         loop {
///             let token = self.token.as_deref()?;
///             let (items, next) = self.page.get_or_insert_with(|| (self.api)(token));
///             if let Some(item) = items.get(self.taken) {
///                 self.taken += 1;
///                 return Some(item.clone());
///             }
///             self.token = next.take();
///             self.page = None;
///             self.taken = 0;
///         }
///     }
/// }
///
/// impl Position for Items<'_> {
///     // The page's token and how far into it: the API gives that page again for the token.
///     type Saved = PageAt;
///     fn position(&self) -> PageAt {
///         PageAt { token: self.token.clone(), taken: self.taken }
///     }
///     fn resume_at(&mut self, at: PageAt) -> Result<(), Error> {
///         (self.token, self.taken, self.page) = (at.token, at.taken, None);
///         Ok(())
///     }
/// }
///
/// // Both resume exactly: the rest after a resume is the rest of an uninterrupted run.
/// let db: Vec<(u64, String)> = (0..250).map(|id| (id, format!("row {id}"))).collect();
/// let mut rows = Rows { db: &db, last: None, page: Vec::new() };
/// rows.by_ref().take(130).for_each(drop);
/// let saved = postcard::to_allocvec(&rows.position()).unwrap(); // what a checkpoint keeps
/// let mut again = Rows { db: &db, last: None, page: Vec::new() };
/// again.resume_at(postcard::from_bytes(&saved).unwrap())?;
/// assert_eq!(again.collect::<Vec<_>>(), rows.collect::<Vec<_>>());
///
/// let api = |token: &str| {
///     let page: usize = token.parse().unwrap();
///     let items = (0..10).map(|i| format!("item {}", page * 10 + i)).collect();
///     (items, (page < 4).then(|| (page + 1).to_string()))
/// };
/// let fresh = || Items { api: &api, token: Some("0".into()), page: None, taken: 0 };
/// let all: Vec<String> = fresh().collect();
/// assert_eq!(all.len(), 50);
/// let mut items = fresh();
/// items.by_ref().take(23).for_each(drop);
/// let mut again = fresh();
/// again.resume_at(items.position())?;
/// assert_eq!(again.collect::<Vec<_>>(), all[23..]);
/// # Ok::<(), Error>(())
/// ```
pub trait Position: Iterator {
    /// What is saved with a checkpoint: enough to find the position again (and, if the
    /// source can change between runs, to notice that it did).
    type Saved: Serialize + DeserializeOwned;

    /// Where the iterator stands after the items it has yielded.
    fn position(&self) -> Self::Saved;

    /// Puts a fresh iterator at `saved`, so that it yields what the iterator that saved it
    /// would have yielded next; or refuses with an error that says why and how to start over.
    fn resume_at(&mut self, saved: Self::Saved) -> Result<(), crate::error::Error>;
}
