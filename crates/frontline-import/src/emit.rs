//! The row sink shared by every reader: numbering, limits, and holding back leading blank rows.
//!
//! Blank rows before the first non-blank one are held back (up to [`PENDING_CAP`]) so that a
//! file or sheet with nothing in it can be refused as empty without the caller having seen
//! any row, and so that an empty first worksheet can be skipped for the next one.

use std::ops::ControlFlow;

use crate::{DecodeError, Limits};

/// Most leading blank rows held back; beyond that they are passed on as they come.
const PENDING_CAP: usize = 10_000;

/// Whether every cell of a row is empty or whitespace.
pub(crate) fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// Cuts `s` to at most `max` characters (on a character boundary).
pub(crate) fn cut_chars(s: &mut String, max: usize) {
    if s.len() > max {
        if let Some((i, _)) = s.char_indices().nth(max) {
            s.truncate(i);
        }
    }
}

/// Numbers rows, enforces the row limit and calls the caller's function.
pub(crate) struct Emitter<F> {
    f: F,
    max_rows: usize,
    /// Rows numbered so far (the next row is `rows + 1`), held-back ones included.
    rows: usize,
    /// Leading blank rows not yet passed on.
    pending: Vec<Vec<String>>,
    /// Whether any row was passed on to `f`.
    passed_any: bool,
    /// Whether a non-blank row was seen.
    content: bool,
    /// Whether `f` asked to stop.
    stopped: bool,
}

impl<F: FnMut(usize, &[String]) -> ControlFlow<()>> Emitter<F> {
    /// A sink for `f` under `limits`.
    pub(crate) fn new(f: F, limits: &Limits) -> Self {
        Emitter {
            f,
            max_rows: limits.max_rows,
            rows: 0,
            pending: Vec::new(),
            passed_any: false,
            content: false,
            stopped: false,
        }
    }

    /// Rows numbered so far.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Whether a non-blank row was seen.
    pub(crate) fn has_content(&self) -> bool {
        self.content
    }

    /// Whether the caller asked to stop.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// Forgets held-back blank rows so another sheet can be tried; false if rows were passed on.
    pub(crate) fn restart(&mut self) -> bool {
        if self.passed_any || self.content {
            return false;
        }
        self.pending.clear();
        self.rows = 0;
        true
    }

    /// Checks that `n` more rows fit within the limit.
    pub(crate) fn reserve(&self, n: usize) -> Result<(), DecodeError> {
        if self.rows.saturating_add(n) > self.max_rows {
            return Err(DecodeError::TooManyRows { limit: self.max_rows });
        }
        Ok(())
    }

    /// Passes on the next row.
    pub(crate) fn row(&mut self, cells: &[String]) -> Result<(), DecodeError> {
        if self.stopped {
            return Ok(());
        }
        self.reserve(1)?;
        self.rows += 1;
        if !self.content {
            if is_blank(cells) {
                if self.pending.len() < PENDING_CAP && !self.passed_any {
                    self.pending.push(cells.to_vec());
                    return Ok(());
                }
            } else {
                self.content = true;
            }
            self.flush_pending();
            if self.stopped {
                return Ok(());
            }
        }
        self.call(self.rows, cells);
        Ok(())
    }

    /// Passes on `n` rows without cells.
    pub(crate) fn blank_rows(&mut self, n: usize) -> Result<(), DecodeError> {
        self.reserve(n)?;
        for _ in 0..n {
            if self.stopped {
                break;
            }
            self.row(&[])?;
        }
        Ok(())
    }

    /// Ends the file: refuses it as empty when no row had a non-blank cell.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.content || self.stopped {
            Ok(())
        } else {
            Err(DecodeError::Empty)
        }
    }

    /// Passes on the held-back rows; they are always rows `1..=pending.len()`.
    fn flush_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for (i, cells) in pending.iter().enumerate() {
            if self.stopped {
                return;
            }
            self.call(i + 1, cells);
        }
    }

    fn call(&mut self, number: usize, cells: &[String]) {
        self.passed_any = true;
        if (self.f)(number, cells).is_break() {
            self.stopped = true;
        }
    }
}
