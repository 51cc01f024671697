//! A bounded read buffer over any byte stream.
//!
//! The parsers ask for "the next `n` bytes" and get a slice into this buffer, so a
//! record is read from the file once and never copied again. The buffer has a target
//! size (about a megabyte) and only grows past it for a single record that is larger,
//! up to [`MAX_RECORD`]; it shrinks back afterwards. Memory therefore depends on the
//! largest record, never on the file size.

use std::io::{self, Read};

/// The largest single record or block leakypick buffers. Real frames are at most a
/// few hundred kilobytes (jumbo frames, USB captures); a length field beyond this is
/// taken as corruption rather than a reason to allocate gigabytes.
pub(crate) const MAX_RECORD: usize = 256 * 1024 * 1024;

/// The buffer size used while a source is only being opened: enough for any normal
/// file header without committing a full read buffer per file before reading starts.
pub(crate) const OPEN_BUFFER: usize = 64 * 1024;

pub(crate) struct Input {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
    /// The size the buffer is brought to when it is refilled.
    target: usize,
    /// Told how many bytes each read from the stream brought (progress): called once per
    /// refill, so at most every [`OPEN_BUFFER`] bytes or so, never per record.
    on_read: Option<super::ReadHook>,
}

impl Input {
    pub(crate) fn new(reader: Box<dyn Read + Send>) -> Input {
        Input {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            target: OPEN_BUFFER,
            on_read: None,
        }
    }

    /// Reports every read from now on to `hook`, and at once the bytes read so far.
    pub(crate) fn set_on_read(&mut self, hook: super::ReadHook) {
        hook(self.offset + (self.end - self.start) as u64);
        self.on_read = Some(hook);
    }

    /// Sets the buffer size used from the next refill on.
    pub(crate) fn set_target(&mut self, target: usize) {
        self.target = target.max(OPEN_BUFFER);
    }

    /// File offset of the first unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The unread bytes currently buffered.
    pub(crate) fn window(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Marks `n` buffered bytes as read.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    /// Tries to make at least `n` bytes (at most [`MAX_RECORD`]) available in
    /// [`window`](Self::window) and returns how many are available: fewer than `n`
    /// only at the end of the stream.
    pub(crate) fn ensure(&mut self, n: usize) -> io::Result<usize> {
        let n = n.min(MAX_RECORD);
        let have = self.end - self.start;
        if have >= n || self.eof {
            return Ok(have);
        }
        self.make_room();
        while self.end - self.start < n {
            if self.end == self.buf.len() {
                // The record is larger than the buffer. Grow it step by step as its
                // bytes arrive, not at once to the claimed length: a corrupt length
                // near the end of a small file then costs no large allocation.
                let grown = (self.buf.len() * 2).min(n).max(self.end + 1);
                self.buf.resize(grown, 0);
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => {
                    self.end += k;
                    if let Some(hook) = &self.on_read {
                        hook(k as u64);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    /// Moves the unread bytes to the front so a refill can read a full buffer in few
    /// system calls, and brings the buffer to its target size: up from the small
    /// opening size, or back down after a large record.
    fn make_room(&mut self) {
        let have = self.end - self.start;
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = have;
        }
        if self.buf.len() < self.target {
            self.buf.resize(self.target, 0);
        } else if self.buf.len() > self.target && have <= self.target {
            self.buf.truncate(self.target);
            self.buf.shrink_to_fit();
        }
    }

    /// Drops the reader and the buffer once the source is exhausted, so a merge over
    /// many files does not keep finished ones' memory and file handles.
    pub(crate) fn close(&mut self) {
        self.reader = Box::new(io::empty());
        self.buf = Vec::new();
        self.start = 0;
        self.end = 0;
        self.eof = true;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes per call, like a pipe.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn reassembles_short_reads_and_tracks_offsets() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut input = Input::new(Box::new(Trickle {
            data: data.clone(),
            pos: 0,
            step: 7,
        }));
        let mut pos = 0usize;
        for len in [1usize, 16, 1500, 70_000, 3, 100_000] {
            assert_eq!(input.ensure(len).unwrap().min(len), len);
            assert_eq!(&input.window()[..len], &data[pos..pos + len]);
            input.consume(len);
            pos += len;
            assert_eq!(input.offset(), pos as u64);
        }
        let left = input.ensure(1_000_000).unwrap();
        assert_eq!(left, data.len() - pos);
    }

    #[test]
    fn a_claimed_length_beyond_the_data_allocates_nothing_large() {
        let mut input = Input::new(Box::new(io::Cursor::new(vec![1u8; 1000])));
        input.set_target(1024 * 1024);
        assert_eq!(input.ensure(200 * 1024 * 1024).unwrap(), 1000);
        assert!(input.buf.len() <= 2 * 1024 * 1024);
    }

    #[test]
    fn grows_for_a_large_record_and_shrinks_back() {
        let data = vec![0xabu8; 3 * 1024 * 1024];
        let mut input = Input::new(Box::new(io::Cursor::new(data)));
        input.set_target(1024 * 1024);
        assert_eq!(input.ensure(2 * 1024 * 1024).unwrap(), 2 * 1024 * 1024);
        input.consume(2 * 1024 * 1024);
        assert!(input.ensure(16).unwrap() >= 16);
        assert_eq!(input.buf.len(), 1024 * 1024);
        assert_eq!(input.window()[..16], [0xab; 16]);
    }
}
