//! Incremental parser for `text/event-stream`: bytes in, complete events out.

/// One server-sent event: its `event:` name (default `message`) and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Buffers partial input across network reads; holds only the unfinished tail.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
}

/// Longest pending event we accept before calling the stream broken.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// Why a stream cannot be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    #[error("an event is longer than {MAX_EVENT_BYTES} bytes")]
    TooLong,
    #[error("an event is not UTF-8")]
    NotUtf8,
}

impl SseParser {
    /// Adds a chunk and returns every event it completes, in order. Comments (`: …`) and
    /// events with neither data nor a name (keep-alives) are dropped.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some((end, sep)) = find_blank_line(&self.buf) {
            let block: Vec<u8> = self.buf.drain(..end + sep).collect();
            let text = std::str::from_utf8(&block[..end]).map_err(|_| SseError::NotUtf8)?;
            if let Some(ev) = parse_block(text) {
                events.push(ev);
            }
        }
        if self.buf.len() > MAX_EVENT_BYTES {
            return Err(SseError::TooLong);
        }
        if self.buf.is_empty() && self.buf.capacity() > 4096 {
            // Give back a buffer a large event grew; idle streams stay small.
            self.buf = Vec::new();
        }
        Ok(events)
    }
}

/// Finds the first blank line (`\n\n`, `\r\n\r\n`, `\r\r`): (offset of block end, separator length).
fn find_blank_line(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < buf.len() {
        let c = buf[i];
        if c == b'\n' || c == b'\r' {
            let first = if c == b'\r' && buf.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            let j = i + first;
            match buf.get(j) {
                Some(b'\n') => return Some((i, first + 1)),
                Some(b'\r') => {
                    let second = if buf.get(j + 1) == Some(&b'\n') {
                        2
                    } else if j + 1 < buf.len() {
                        1
                    } else {
                        // `\r` at the very end: it may be half of `\r\n`; wait for more.
                        return None;
                    };
                    return Some((i, first + second));
                }
                _ => {}
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut data: Option<String> = None;
    for line in block.split(['\n', '\r']).filter(|l| !l.is_empty()) {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => event = Some(value.to_string()),
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_string()),
            },
            _ => {}
        }
    }
    if event.is_none() && data.is_none() {
        return None;
    }
    Some(SseEvent {
        event: event.unwrap_or_else(|| "message".to_string()),
        data: data.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn endpoint_and_message_events_parse() {
        let mut p = SseParser::default();
        let out = p
            .push(b"event: endpoint\ndata: /messages?sessionId=abc\n\nevent: message\ndata: {\"id\":1}\n\n")
            .unwrap();
        assert_eq!(
            out,
            vec![
                ev("endpoint", "/messages?sessionId=abc"),
                ev("message", "{\"id\":1}")
            ]
        );
    }

    #[test]
    fn events_split_across_chunks_at_every_byte_parse_the_same() {
        let input: &[u8] =
            b"event: endpoint\r\ndata: /messages/?session_id=x\r\n\r\n: ping\r\n\r\ndata: a\r\ndata: b\r\n\r\n";
        for cut in 0..input.len() {
            let mut p = SseParser::default();
            let mut out = p.push(&input[..cut]).unwrap();
            out.extend(p.push(&input[cut..]).unwrap());
            assert_eq!(
                out,
                vec![
                    ev("endpoint", "/messages/?session_id=x"),
                    ev("message", "a\nb")
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn keepalive_comments_produce_no_events() {
        let mut p = SseParser::default();
        assert!(
            p.push(b": keep-alive\n\n: ping - 2026\n\n")
                .unwrap()
                .is_empty()
        );
        assert_eq!(p.push(b"data:x\n\n").unwrap(), vec![ev("message", "x")]);
    }

    #[test]
    fn bare_carriage_returns_end_events() {
        let mut p = SseParser::default();
        assert_eq!(
            p.push(b"event: e\rdata: d\r\rX").unwrap(),
            vec![ev("e", "d")]
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut p = SseParser::default();
        assert_eq!(p.push(b"data: \xff\n\n"), Err(SseError::NotUtf8));
    }
}
