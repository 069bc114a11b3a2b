//! A thin SQLite VFS for the scan writer's connection: the default VFS, except
//! that a write-ahead log's writes are gathered in memory and reach the file
//! as one write just before each sync.
//!
//! SQLite writes a commit's log frames one at a time, two writes each (the
//! 24-byte frame header, then the page), and syncs once at the end. On this
//! kernel a small buffered write costs far more than its bytes: a group
//! commit's thirty writes cost about twenty times what one write of the same
//! bytes does (measured with a small C program on the same file system), and
//! they were a sixth of the writer thread's time.
//!
//! Why it is safe: nothing in SQLite's log protocol depends on a write reaching
//! the file before the next sync. Readers only read frames that the log index
//! marks as committed, and the writer's connection (`synchronous = FULL`)
//! updates the index only after the commit's sync, by which time the gathered
//! writes are in the file. Everything that reads or measures the log file
//! (reads, size, truncation, file controls, close) writes the gathered bytes
//! first, so the connection itself always sees its own writes. A crash before
//! the sync loses exactly what the page cache would have lost: a commit that
//! was never acknowledged.
//!
//! Every other file (the database, its shared-memory index, temporary files)
//! is the default VFS's own file, untouched.
//!
//! The only unsafe code of the workspace: a VFS is C callbacks over memory
//! SQLite owns. Each callback reaches only the file block SQLite hands it, laid
//! out by [`open`].

#![allow(unsafe_code)]

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The VFS's registered name.
pub(crate) const NAME: &CStr = c"frontline-coalesce";

/// Gathered bytes beyond this are written at once (a commit rarely comes near).
const MAX_GATHERED: usize = 4 << 20;

/// The most bytes passed to the default VFS's write at a time: it writes at
/// most 128 KiB − 1 per call (its pages are never larger than 64 KiB), and a
/// larger write would be cut short.
const MAX_WRITE: usize = 124 << 10;

/// The default VFS this one wraps.
static BASE: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(std::ptr::null_mut());

/// A log file opened through this VFS. SQLite allocates `szOsFile` bytes for
/// it; the default VFS's own file lives in the same block, after this header.
#[repr(C)]
struct LogFile {
    /// SQLite's part: the methods below.
    base: ffi::sqlite3_file,
    /// The default VFS's file.
    real: *mut ffi::sqlite3_file,
    /// Bytes written and not yet passed on, starting at `at`.
    gathered: Vec<u8>,
    at: i64,
    /// Writes passed on to the real file so far.
    writes: u64,
}

/// Where the default VFS's file starts inside a [`LogFile`]'s block.
const REAL_OFFSET: usize = std::mem::size_of::<LogFile>().next_multiple_of(16);

/// Registers the VFS (once); `Err` with SQLite's code when it cannot.
pub(crate) fn register() -> Result<(), c_int> {
    static REGISTERED: OnceLock<Result<(), c_int>> = OnceLock::new();
    *REGISTERED.get_or_init(|| unsafe {
        let base = ffi::sqlite3_vfs_find(std::ptr::null());
        if base.is_null() {
            return Err(ffi::SQLITE_ERROR);
        }
        BASE.store(base, Ordering::Release);
        // A copy of the default VFS, with a larger file and its own open: every
        // other method is the default's, given the same application data.
        let mut vfs: ffi::sqlite3_vfs = std::ptr::read(base);
        vfs.szOsFile = c_int::try_from(REAL_OFFSET).unwrap_or(c_int::MAX).saturating_add((*base).szOsFile);
        vfs.zName = NAME.as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(open);
        // Registered for the life of the process, as SQLite requires.
        let vfs = Box::leak(Box::new(vfs));
        match ffi::sqlite3_vfs_register(vfs, 0) {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(rc),
        }
    })
}

fn base() -> *mut ffi::sqlite3_vfs {
    BASE.load(Ordering::Acquire)
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base();
    let Some(base_open) = (*base).xOpen else { return ffi::SQLITE_ERROR };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // The default VFS's file at the start of the block: SQLite calls its methods directly.
        return base_open(base, name, file, flags, out_flags);
    }
    let real = file.cast::<u8>().add(REAL_OFFSET).cast::<ffi::sqlite3_file>();
    let rc = base_open(base, name, real, flags, out_flags);
    let opened = !(*real).pMethods.is_null();
    std::ptr::write(
        file.cast::<LogFile>(),
        LogFile {
            // SQLite closes a file whose methods are set even when opening failed.
            base: ffi::sqlite3_file { pMethods: if opened { &LOG_METHODS } else { std::ptr::null() } },
            real,
            gathered: Vec::new(),
            at: 0,
            writes: 0,
        },
    );
    rc
}

/// The log file behind SQLite's pointer.
unsafe fn log<'a>(file: *mut ffi::sqlite3_file) -> &'a mut LogFile {
    &mut *file.cast::<LogFile>()
}

/// The default VFS's methods for the real file.
unsafe fn real_methods(log: &LogFile) -> &ffi::sqlite3_io_methods {
    &*(*log.real).pMethods
}

/// Passes the gathered bytes on to the file: one write, or one per
/// [`MAX_WRITE`] bytes.
unsafe fn flush(log: &mut LogFile) -> c_int {
    let Some(write) = real_methods(log).xWrite else { return ffi::SQLITE_IOERR_WRITE };
    let mut rc = ffi::SQLITE_OK;
    let mut at = log.at;
    for chunk in log.gathered.chunks(MAX_WRITE) {
        log.writes += 1;
        // A chunk is at most MAX_WRITE bytes: the length fits.
        rc = write(log.real, chunk.as_ptr().cast(), chunk.len() as c_int, at);
        if rc != ffi::SQLITE_OK {
            break;
        }
        at += chunk.len() as i64;
    }
    // On failure the bytes are dropped, as a failed write's would be: SQLite
    // rolls the transaction back and rewrites what it needs.
    log.gathered.clear();
    rc
}

/// Writes the gathered bytes, then passes the call on to the real file
/// (`then`), unless the write failed.
unsafe fn flushed(file: *mut ffi::sqlite3_file, then: impl FnOnce(&LogFile) -> c_int) -> c_int {
    let log = log(file);
    match flush(log) {
        ffi::SQLITE_OK => then(log),
        rc => rc,
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let log = log(file);
    let flushed = flush(log);
    let closed = real_methods(log).xClose.map_or(ffi::SQLITE_OK, |close| close(log.real));
    std::ptr::drop_in_place(&mut log.gathered);
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    let log = log(file);
    let Ok(len) = usize::try_from(amount) else { return ffi::SQLITE_IOERR_WRITE };
    let end = log.at.saturating_add(i64::try_from(log.gathered.len()).unwrap_or(i64::MAX));
    if log.gathered.is_empty() || offset != end || log.gathered.len() + len > MAX_GATHERED {
        let rc = flush(log);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        log.at = offset;
    }
    log.gathered.extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), len));
    ffi::SQLITE_OK
}

unsafe extern "C" fn read(file: *mut ffi::sqlite3_file, out: *mut c_void, amount: c_int, offset: i64) -> c_int {
    flushed(file, |log| {
        real_methods(log).xRead.map_or(ffi::SQLITE_IOERR_READ, |read| read(log.real, out, amount, offset))
    })
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    flushed(file, |log| {
        real_methods(log).xTruncate.map_or(ffi::SQLITE_IOERR_TRUNCATE, |truncate| truncate(log.real, size))
    })
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    flushed(file, |log| real_methods(log).xSync.map_or(ffi::SQLITE_IOERR_FSYNC, |sync| sync(log.real, flags)))
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    flushed(file, |log| {
        real_methods(log).xFileSize.map_or(ffi::SQLITE_IOERR_FSTAT, |file_size| file_size(log.real, size))
    })
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let log = log(file);
    real_methods(log).xLock.map_or(ffi::SQLITE_OK, |lock| lock(log.real, level))
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let log = log(file);
    real_methods(log).xUnlock.map_or(ffi::SQLITE_OK, |unlock| unlock(log.real, level))
}

unsafe extern "C" fn check_reserved(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    let log = log(file);
    real_methods(log).xCheckReservedLock.map_or(ffi::SQLITE_OK, |check| check(log.real, out))
}

unsafe extern "C" fn file_control(file: *mut ffi::sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    flushed(file, |log| {
        real_methods(log).xFileControl.map_or(ffi::SQLITE_NOTFOUND, |control| control(log.real, op, arg))
    })
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    let log = log(file);
    real_methods(log).xSectorSize.map_or(4096, |size| size(log.real))
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    let log = log(file);
    real_methods(log).xDeviceCharacteristics.map_or(0, |chars| chars(log.real))
}

/// Version 1: a log file has no shared memory and is never memory-mapped.
static LOG_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// The name as SQLite's open functions take it.
pub(crate) fn name() -> &'static str {
    NAME.to_str().unwrap_or("frontline-coalesce")
}

#[cfg(test)]
/// How many writes reached `conn`'s log file through this VFS; `None` when its
/// log is not open through it.
pub(crate) fn log_writes(conn: &rusqlite::Connection) -> Option<u64> {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the handle is live for the borrow of `conn`; the file control
    // only stores the log's file pointer (or null) into `file`.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_JOURNAL_POINTER,
            std::ptr::addr_of_mut!(file).cast(),
        )
    };
    // SAFETY: a file whose methods are this VFS's log methods was laid out by `open`.
    unsafe {
        (rc == ffi::SQLITE_OK && !file.is_null() && std::ptr::eq((*file).pMethods, &LOG_METHODS))
            .then(|| log(file).writes)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, OpenFlags};

    use super::{log_writes, name, register};

    struct Dir(std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(tag: &str) -> (Dir, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("frontline-vfs-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let path = dir.join("db.sqlite");
        (Dir(dir), path)
    }

    fn open(path: &std::path::Path) -> Connection {
        register().expect("the VFS registers");
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), name()).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").expect("pragmas");
        conn
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).expect("count")
    }

    /// Frames in the log file so far (its header is shorter than a frame).
    fn frames(path: &std::path::Path) -> u64 {
        std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len()) / (4096 + 24)
    }

    /// Inserts `rows` rows of about 1 KB in one commit; the log file writes it took.
    fn commit_rows(conn: &Connection, rows: u32) -> u64 {
        let before = log_writes(conn).expect("the log goes through the VFS");
        conn.execute_batch(&format!(
            "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             INSERT INTO t (body) SELECT randomblob(1000) FROM n; COMMIT;"
        ))
        .expect("insert");
        log_writes(conn).expect("writes") - before
    }

    #[test]
    fn a_commit_reaches_the_log_in_one_write_and_other_connections_see_it() {
        let (_dir, path) = scratch("commit");
        let conn = open(&path);
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)").expect("schema");
        // A group commit's size: a dozen frames, two writes each frame by frame.
        let start = frames(&path);
        let writes = commit_rows(&conn, 40);
        let written = frames(&path) - start;
        assert!(written >= 10, "the commit wrote {written} frames");
        assert_eq!(writes, 1, "{written} frames in {writes} writes");
        // Past what the default VFS writes at once (128 KiB): cut into pieces it takes whole.
        let start = frames(&path);
        let writes = commit_rows(&conn, 150);
        let written = frames(&path) - start;
        let bytes = written * (4096 + 24);
        assert!(bytes > 128 << 10, "the commit wrote {bytes} bytes");
        assert_eq!(writes, bytes.div_ceil(super::MAX_WRITE as u64), "{bytes} bytes in {writes} writes");
        // A connection through the default VFS reads the committed rows from the log.
        let other = Connection::open(&path).expect("second connection");
        assert_eq!(count(&other), 190);
        assert_eq!(log_writes(&other), None, "the default VFS's log is its own");
    }

    #[test]
    fn the_scan_writers_connection_writes_its_log_through_the_vfs() {
        let (_dir, path) = scratch("writer");
        let conn = crate::sampling::sqlite_thread::open(&path).expect("the writer's connection");
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)").expect("schema");
        assert_eq!(commit_rows(&conn, 5), 1);
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("pragma");
        assert_eq!(sync, 2, "the VFS relies on FULL: the log index moves only after the sync");
    }

    #[test]
    fn spilled_and_rolled_back_transactions_checkpoints_and_restarts_keep_the_database_whole() {
        let (_dir, path) = scratch("spill");
        let conn = open(&path);
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB); PRAGMA cache_size = 10;")
            .expect("schema");
        let insert = |n: i64| {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
                 INSERT INTO t (body) SELECT randomblob(1500) FROM n;"
            )
        };
        // A transaction larger than the page cache spills frames into the log
        // before its commit; rolled back, none of it may show.
        conn.execute_batch(&format!("BEGIN; {} ROLLBACK;", insert(400))).expect("spill and roll back");
        assert_eq!(count(&conn), 0);
        conn.execute_batch(&format!("BEGIN; {} COMMIT;", insert(300))).expect("spill and commit");
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
        // After the checkpoint the log starts over from its first frame.
        conn.execute_batch(&format!("BEGIN; {} COMMIT;", insert(50))).expect("after the restart");
        let other = Connection::open(&path).expect("second connection");
        assert_eq!(count(&other), 350);
        let check: String = other.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
        assert_eq!(check, "ok");
        drop(conn);
        drop(other);
        // Reopened from the files alone, everything committed is there.
        let reopened = Connection::open(&path).expect("reopen");
        assert_eq!(count(&reopened), 350);
    }
}
