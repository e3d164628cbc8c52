//! A console command's output as it arrives: kept up to a cap (its beginning and its end, which is
//! where errors are), and cut into lines for the logs. No I/O.

/// Bytes kept from the beginning of the output, and from its end. Escaped as JSON, control bytes take
/// six bytes each: even then the result stays well under Lambda's 6 MB.
pub const HEAD_BYTES: usize = 256 * 1024;
pub const TAIL_BYTES: usize = 256 * 1024;
/// A longer line is logged in pieces of this size.
const MAX_LOG_LINE: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct Output {
    head: Vec<u8>,
    /// The last bytes after `head` filled up; trimmed to `TAIL_BYTES` now and then.
    tail: Vec<u8>,
    total: usize,
    /// The line being received, for the logs.
    line: Vec<u8>,
}

impl Output {
    /// Adds a chunk of output; `on_line` gets each complete line.
    pub fn push(&mut self, chunk: &[u8], on_line: &mut impl FnMut(&str)) {
        self.total += chunk.len();
        let room = HEAD_BYTES.saturating_sub(self.head.len());
        let (to_head, rest) = chunk.split_at(room.min(chunk.len()));
        self.head.extend_from_slice(to_head);
        self.tail.extend_from_slice(rest);
        if self.tail.len() > 2 * TAIL_BYTES {
            self.tail.drain(..self.tail.len() - TAIL_BYTES);
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let room = MAX_LOG_LINE - self.line.len();
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .map_or(rest.len(), |i| i + 1)
                .min(room);
            self.line.extend_from_slice(&rest[..end]);
            rest = &rest[end..];
            if self.line.ends_with(b"\n") || self.line.len() >= MAX_LOG_LINE {
                emit(&self.line, on_line);
                self.line.clear();
            }
        }
    }

    /// Logs what is left of the last line.
    pub fn flush(&mut self, on_line: &mut impl FnMut(&str)) {
        emit(&self.line, on_line);
        self.line.clear();
    }

    /// Bytes received in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The output as text (invalid UTF-8 replaced), with a line saying how much was cut from the
    /// middle when it was over the cap.
    pub fn text(&self) -> String {
        let tail = &self.tail[self.tail.len().saturating_sub(TAIL_BYTES)..];
        let cut = self.total - self.head.len() - tail.len();
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if cut > 0 {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!(
                "[lambda-fpm: {cut} bytes of output cut here; the first {HEAD_BYTES} and the last {TAIL_BYTES} bytes are kept]\n"
            ));
        }
        text.push_str(&String::from_utf8_lossy(tail));
        text
    }

    /// The last `lines` lines (at most `max_bytes`), for an error message.
    pub fn last_lines(&self, lines: usize, max_bytes: usize) -> String {
        let text = self.text();
        let trimmed = text.trim_end();
        let start = trimmed
            .rmatch_indices('\n')
            .nth(lines.saturating_sub(1))
            .map_or(0, |(i, _)| i + 1);
        let start = start.max(trimmed.len().saturating_sub(max_bytes));
        let start = trimmed.ceil_char_boundary(start);
        match &trimmed[start..] {
            "" => "(no output)".into(),
            last => last.to_owned(),
        }
    }
}

fn emit(line: &[u8], on_line: &mut impl FnMut(&str)) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\n', '\r']);
    if !text.trim().is_empty() {
        on_line(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> (Output, Vec<String>) {
        let mut out = Output::default();
        let mut lines = Vec::new();
        let mut on_line = |l: &str| lines.push(l.to_owned());
        for chunk in chunks {
            out.push(chunk, &mut on_line);
        }
        out.flush(&mut on_line);
        (out, lines)
    }

    #[test]
    fn lines_are_logged_as_they_complete() {
        let (out, lines) = lines_of(&[
            b"Migrating: 2014_10",
            b"_12_create\nMigrated\r\n\n",
            b"done",
        ]);
        assert_eq!(lines, ["Migrating: 2014_10_12_create", "Migrated", "done"]);
        assert_eq!(
            out.text(),
            "Migrating: 2014_10_12_create\nMigrated\r\n\ndone"
        );
        assert_eq!(out.total(), 44);
    }

    #[test]
    fn a_large_output_keeps_its_beginning_and_end_and_says_so() {
        let mut out = Output::default();
        let mut count = 0;
        let line = [b'x'; 1023]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>();
        for _ in 0..2048 {
            out.push(&line, &mut |_| count += 1);
        }
        out.push(b"the end\n", &mut |_| count += 1);
        assert_eq!(count, 2049);
        let text = out.text();
        let cut = 2048 * 1024 + 8 - HEAD_BYTES - TAIL_BYTES;
        assert!(
            text.contains(&format!("[lambda-fpm: {cut} bytes of output cut here")),
            "{}",
            &text[HEAD_BYTES - 100..HEAD_BYTES + 200]
        );
        assert!(text.len() < HEAD_BYTES + TAIL_BYTES + 200);
        assert!(text.ends_with("the end\n"));
        assert_eq!(out.last_lines(1, 100), "the end");
    }

    #[test]
    fn last_lines_for_errors() {
        let (out, _) = lines_of(&[b"one\ntwo\nthree\nfour\n\n"]);
        assert_eq!(out.last_lines(2, 1000), "three\nfour");
        assert_eq!(out.last_lines(10, 1000), "one\ntwo\nthree\nfour");
        assert_eq!(out.last_lines(10, 6), "e\nfour");
        let (empty, _) = lines_of(&[b" \n"]);
        assert_eq!(empty.last_lines(3, 100), "(no output)");
        let (utf8, _) = lines_of(&["ééé".as_bytes()]);
        assert_eq!(utf8.last_lines(1, 3), "é");
    }

    #[test]
    fn long_lines_are_logged_in_pieces_and_bad_utf8_is_replaced() {
        let long = vec![b'a'; MAX_LOG_LINE + 10];
        let (_, lines) = lines_of(&[&long, b"\n\xff\xfeend\n"]);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), MAX_LOG_LINE);
        assert_eq!(lines[2], "\u{fffd}\u{fffd}end");
    }
}
