//! The small-file cache: a repeated request for a small, unchanged file is
//! answered on the I/O thread from bytes in memory, with no hop to the
//! blocking pool, no `canonicalize` and no read.
//!
//! One cache per server, keyed by mount and cleaned path (and whether a
//! directory was asked for). An entry holds the resolved canonical file
//! (after the symlink check), and for it and each precompressed sibling
//! that existed then: the bytes and the prebuilt headers.
//!
//! Freshness, the rule `docs/static.md` states for users:
//! - Every hit stats the file by the path asked for (symlinks followed, not
//!   resolved) and the sibling sent: one `stat` each, microseconds, done
//!   inline. Size, modification time, and on Unix device, inode and change
//!   time must equal what was read, else the entry is dropped and the
//!   request takes the uncached path: an edited, replaced or deleted file,
//!   or a symlink that now leads elsewhere, is never served stale. A hit
//!   sends only the very file (same inode) that passed the symlink check.
//! - What those stats cannot see (a precompressed sibling created since)
//!   is trusted for `TTL` (1 s); then the entry is resolved and read again.
//! - A file modified less than `SETTLE` (1 s) ago is served but not kept:
//!   a file system's timestamps may not tell two writes within one tick
//!   apart, so a stamp taken that early could miss the second one.
//!
//! Bounds: files up to `MAX_FILE` (1 MiB) each; at most `MAX_BYTES`
//! (64 MiB) per server, each entry also charged `ENTRY_OVERHEAD` so empty
//! files cannot grow the map without bound. When full, entries past their
//! `TTL` are swept (at most once per `TTL`); if still full, new files are
//! served uncached.
//!
//! A plain map under a `parking_lot` mutex rather than a caching crate:
//! the lock is held for a lookup and an `Arc` clone only, every entry is
//! refreshed each second anyway, and the bound needs no eviction order, so
//! an LRU dependency would buy nothing here.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Response;
use parking_lot::Mutex;

use super::file::{self, Found, ENCODINGS};
use super::path::Clean;
use super::reply::{self, Ask, Head};
use super::Mount;
use crate::body::{self, Body};

/// Largest file (each representation) kept in memory.
const MAX_FILE: u64 = 1024 * 1024;
/// What one server's cache may hold, overheads included.
const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Charged per entry beyond its files: paths, headers, the map slot.
const ENTRY_OVERHEAD: u64 = 1024;
/// How long an entry's resolution (siblings, index, symlinks) is trusted.
const TTL: Duration = Duration::from_secs(1);
/// How long a file must have been left alone before it is kept.
const SETTLE: Duration = Duration::from_secs(1);

/// Which file a request names: mount, cleaned path, directory or not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    mount: usize,
    /// The cleaned segments joined by `/` (no segment contains one), with
    /// a trailing `/` when a directory was asked for.
    path: String,
}

impl Key {
    /// The key of `clean` under the mount at `mount` (its index).
    pub(super) fn new(mount: usize, clean: &Clean) -> Key {
        let mut path = clean.segments.join("/");
        if clean.dir {
            path.push('/');
        }
        Key { mount, path }
    }
}

/// What a stat tells about a file; any change means the bytes read may be stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Device and inode (another file renamed over it, or reached through a
    /// swapped directory symlink, has others) and change time (set by any
    /// write, even one followed by restoring the old mtime).
    #[cfg(unix)]
    node: (u64, u64, i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            node: (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// One representation (the file, or a precompressed sibling) in memory.
struct Variant {
    /// Stat'ed on every hit: the path as asked, symlinks unresolved, so a
    /// symlink along it that now leads elsewhere shows as another file.
    path: PathBuf,
    stamp: Stamp,
    /// The whole file; responses share it (a clone or slice is a refcount).
    bytes: Bytes,
    head: Head,
}

impl Variant {
    /// Whether the file on disk is still the one read.
    fn is_current(&self) -> bool {
        fs::metadata(&self.path).is_ok_and(|meta| Stamp::of(&meta) == self.stamp)
    }

    fn respond(&self, mount: &Mount, ask: &Ask) -> Response<Body> {
        reply::respond(mount, ask, &self.head, |start, count| {
            // `reply` only asks for ranges within the head's length, which
            // is `bytes.len()` (checked when read), so the slice is in bounds.
            let (start, end) = (start as usize, (start + count) as usize);
            Ok(body::full(self.bytes.slice(start..end)))
        })
    }
}

/// A resolved path with its representations in memory.
pub(super) struct Entry {
    resolved: Instant,
    /// Bytes charged against the budget.
    weight: u64,
    identity: Variant,
    /// The precompressed siblings that existed when resolved.
    siblings: Vec<Variant>,
}

impl Entry {
    /// Answers from memory, without checking the files (just read).
    pub(super) fn respond(&self, mount: &Mount, ask: &Ask) -> Response<Body> {
        self.pick(ask).respond(mount, ask)
    }

    /// The representation the client prefers, as the uncached path picks it.
    fn pick(&self, ask: &Ask) -> &Variant {
        ask.encodings
            .iter()
            .find_map(|&encoding| {
                self.siblings
                    .iter()
                    .find(|v| v.head.encoding() == Some(encoding))
            })
            .unwrap_or(&self.identity)
    }

    /// Whether `variant` may be sent: it and the file asked for are unchanged.
    fn is_current(&self, variant: &Variant) -> bool {
        self.identity.is_current()
            && (std::ptr::eq(variant, &self.identity) || variant.is_current())
    }

    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.resolved) >= TTL
    }
}

/// A representation opened and stat'ed, not read yet.
struct Opened {
    /// The path hits stat (see `Variant::path`).
    path: PathBuf,
    file: File,
    meta: Metadata,
    encoding: Option<&'static str>,
}

impl Opened {
    /// Opens `found.real` when it may be kept: a regular file, small, and
    /// settled.
    fn keepable(found: Found, encoding: Option<&'static str>) -> Option<Opened> {
        let (file, meta) = file::open(&found.real).ok()??;
        (meta.len() <= MAX_FILE && settled(&meta)).then_some(Opened {
            path: found.asked,
            file,
            meta,
            encoding,
        })
    }

    /// Reads the whole file; `None` when its size changed meanwhile.
    fn read(self, mount: &Mount, content_type: &http::HeaderValue) -> Option<Variant> {
        let len = self.meta.len();
        let mut buf = Vec::with_capacity(usize::try_from(len).ok()?);
        // One byte more than expected reveals a file that grew.
        self.file.take(len + 1).read_to_end(&mut buf).ok()?;
        if buf.len() as u64 != len {
            return None;
        }
        Some(Variant {
            head: Head::new(mount, content_type.clone(), self.encoding, &self.meta),
            stamp: Stamp::of(&self.meta),
            path: self.path,
            bytes: Bytes::from(buf),
        })
    }
}

/// Whether `meta`'s modification time is at least `SETTLE` in the past.
fn settled(meta: &Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age >= SETTLE)
}

/// Opens the file found and its precompressed siblings, when all may be kept.
fn open_all(mount: &Mount, found: &Found) -> Option<Vec<Opened>> {
    let encodings: &[&'static str] = if mount.precompressed { &ENCODINGS } else { &[] };
    let siblings = encodings.iter().filter_map(|&encoding| {
        let sibling = Found {
            // Next to the canonical file, as the uncached path looks for them.
            asked: file::sibling_name(&found.real, encoding),
            real: file::sibling(mount, &found.real, encoding)?,
        };
        Some((sibling, Some(encoding)))
    });
    std::iter::once((found.clone(), None))
        .chain(siblings)
        .map(|(found, encoding)| Opened::keepable(found, encoding))
        .collect()
}

/// The map and its accounting. Methods take `now` so tests can move time.
struct State {
    entries: HashMap<Key, Arc<Entry>>,
    /// Sum of the entries' weights.
    weight: u64,
    max: u64,
    swept: Instant,
}

impl State {
    fn lookup(&mut self, key: &Key, now: Instant) -> Option<Arc<Entry>> {
        let entry = self.entries.get(key)?;
        if !entry.expired(now) {
            return Some(entry.clone());
        }
        self.remove(key);
        None
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.entries.remove(key) {
            self.weight -= old.weight;
        }
    }

    /// Whether `weight` more fits, sweeping expired entries first when full
    /// (at most once per `TTL`, so a full cache costs no scan per miss).
    fn room(&mut self, weight: u64, now: Instant) -> bool {
        if self.weight + weight > self.max && now.saturating_duration_since(self.swept) >= TTL {
            self.entries.retain(|_, entry| !entry.expired(now));
            self.weight = self.entries.values().map(|entry| entry.weight).sum();
            self.swept = now;
        }
        self.weight + weight <= self.max
    }

    /// Keeps `entry` under `key` (replacing the one there) if it fits.
    fn insert(&mut self, key: Key, entry: Arc<Entry>, now: Instant) {
        self.remove(&key);
        if self.room(entry.weight, now) {
            self.weight += entry.weight;
            self.entries.insert(key, entry);
        }
    }
}

/// The small-file cache of one server.
pub(super) struct Cache {
    state: Mutex<State>,
}

impl Cache {
    /// An empty cache with the default budget.
    pub(super) fn new() -> Cache {
        Cache::with_budget(MAX_BYTES)
    }

    fn with_budget(max: u64) -> Cache {
        Cache {
            state: Mutex::new(State {
                entries: HashMap::new(),
                weight: 0,
                max,
                swept: Instant::now(),
            }),
        }
    }

    /// Answers a hit from memory; `None` when there is no current entry
    /// (then the request takes the uncached path, which refills it).
    pub(super) fn serve(&self, key: &Key, mount: &Mount, ask: &Ask) -> Option<Response<Body>> {
        let now = Instant::now();
        let entry = self.state.lock().lookup(key, now)?;
        let variant = entry.pick(ask);
        if entry.is_current(variant) {
            return Some(variant.respond(mount, ask));
        }
        let mut state = self.state.lock();
        // Only this entry: another request may have refilled the key already.
        if state
            .entries
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(e, &entry))
        {
            state.remove(key);
        }
        None
    }

    /// Reads the file `key` resolved to and its siblings into a new entry,
    /// kept when it fits. `None` when they may not be kept (too large, just
    /// changed, unreadable) or there is no room: the caller then reads the
    /// file itself. Blocking.
    pub(super) fn fill(&self, key: Key, mount: &Mount, found: &Found) -> Option<Arc<Entry>> {
        let opened = open_all(mount, found)?;
        let weight = ENTRY_OVERHEAD + opened.iter().map(|o| o.meta.len()).sum::<u64>();
        // Checked before reading, so a full cache costs no reads; checked
        // again on insert, as others may have filled it meanwhile.
        if !self.state.lock().room(weight, Instant::now()) {
            return None;
        }
        let resolved = Instant::now();
        let content_type = file::content_type(&found.real);
        let mut variants = opened
            .into_iter()
            .map(|o| o.read(mount, &content_type))
            .collect::<Option<Vec<_>>>()?
            .into_iter();
        // `open_all` puts the file asked for first, then its siblings.
        let identity = variants.next()?;
        let entry = Arc::new(Entry {
            resolved,
            weight,
            identity,
            siblings: variants.collect(),
        });
        self.state.lock().insert(key, entry.clone(), Instant::now());
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statics::path;
    use crate::statics::StaticMount;
    use http::{HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A temporary mount root, removed on drop.
    struct Root(PathBuf);

    impl Root {
        fn new() -> Root {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "ferry_cache_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let dir = std::env::temp_dir().join(name);
            fs::create_dir_all(&dir).unwrap();
            Root(dir)
        }

        /// Writes `name` and dates it an hour back, so it counts as settled.
        fn settled(&self, name: &str, bytes: &[u8]) -> Found {
            let found = self.fresh(name, bytes);
            let past = SystemTime::now() - Duration::from_secs(3600);
            File::options()
                .write(true)
                .open(&found.real)
                .unwrap()
                .set_modified(past)
                .unwrap();
            found
        }

        fn fresh(&self, name: &str, bytes: &[u8]) -> Found {
            let asked = self.0.join(name);
            fs::write(&asked, bytes).unwrap();
            let real = fs::canonicalize(&asked).unwrap();
            Found { asked, real }
        }

        fn mount(&self) -> Mount {
            let config: StaticMount = serde_json::from_value(serde_json::json!({
                "prefix": "/s",
                "dir": self.0.to_str().unwrap(),
            }))
            .unwrap();
            Mount::from_config(&config).unwrap()
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn key(name: &str) -> Key {
        Key::new(0, &path::clean(&format!("/{name}"), false).unwrap())
    }

    fn ask() -> Ask {
        Ask::from_headers(&HeaderMap::new(), false)
    }

    #[test]
    fn keys_tell_directories_from_files() {
        assert_eq!(key("a//b"), key("a/b"));
        assert_ne!(key("a/b"), key("a/b/"));
        assert_ne!(key("a"), Key::new(1, &path::clean("/a", false).unwrap()));
    }

    #[test]
    fn a_kept_file_is_served_until_it_changes() {
        let root = Root::new();
        let mount = root.mount();
        let target = root.settled("a.txt", b"hello");
        let cache = Cache::new();
        assert!(cache.fill(key("a.txt"), &mount, &target).is_some());
        let hit = cache.serve(&key("a.txt"), &mount, &ask()).unwrap();
        assert_eq!(hit.status(), StatusCode::OK);
        assert_eq!(hit.headers()[http::header::CONTENT_LENGTH], "5");
        fs::write(&target.asked, b"hello, world").unwrap();
        assert!(cache.serve(&key("a.txt"), &mount, &ask()).is_none());
        assert!(cache.state.lock().entries.is_empty());
        assert_eq!(cache.state.lock().weight, 0);
    }

    #[test]
    fn large_and_unsettled_files_are_not_kept() {
        let root = Root::new();
        let mount = root.mount();
        let cache = Cache::new();
        let fresh = root.fresh("fresh.txt", b"new");
        assert!(cache.fill(key("fresh.txt"), &mount, &fresh).is_none());
        let big = root.settled("big.bin", &vec![7; MAX_FILE as usize + 1]);
        assert!(cache.fill(key("big.bin"), &mount, &big).is_none());
        let edge = root.settled("edge.bin", &vec![7; MAX_FILE as usize]);
        assert!(cache.fill(key("edge.bin"), &mount, &edge).is_some());
    }

    #[test]
    fn the_budget_is_never_exceeded() {
        let root = Root::new();
        let mount = root.mount();
        let cache = Cache::with_budget(2 * ENTRY_OVERHEAD + 150);
        for name in ["a", "b", "c"] {
            let target = root.settled(name, &[1; 100]);
            cache.fill(key(name), &mount, &target);
        }
        let state = cache.state.lock();
        assert_eq!(state.entries.len(), 1, "only one 100-byte file fits");
        assert_eq!(state.weight, ENTRY_OVERHEAD + 100);
    }

    #[test]
    fn expired_entries_are_dropped_and_swept_when_full() {
        let root = Root::new();
        let mount = root.mount();
        let cache = Cache::with_budget(ENTRY_OVERHEAD + 100);
        let a = root.settled("a", &[1; 100]);
        cache.fill(key("a"), &mount, &a);
        let later = Instant::now() + TTL;
        let mut state = cache.state.lock();
        assert!(!state.room(1, Instant::now()), "full, nothing expired");
        assert!(state.room(100, later), "the expired entry is swept");
        assert!(state.entries.is_empty());
        drop(state);
        cache.fill(key("a"), &mount, &a);
        let mut state = cache.state.lock();
        assert!(state.lookup(&key("a"), Instant::now()).is_some());
        assert!(state.lookup(&key("a"), Instant::now() + TTL).is_none());
        assert_eq!((state.entries.len(), state.weight), (0, 0));
    }

    #[test]
    fn a_refill_replaces_the_entry_and_its_weight() {
        let root = Root::new();
        let mount = root.mount();
        let cache = Cache::new();
        let a = root.settled("a", &[1; 100]);
        cache.fill(key("a"), &mount, &a);
        root.settled("a", &[1; 10]);
        cache.fill(key("a"), &mount, &a);
        let state = cache.state.lock();
        assert_eq!(
            (state.entries.len(), state.weight),
            (1, ENTRY_OVERHEAD + 10)
        );
    }
}
