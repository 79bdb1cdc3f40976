//! Parsers of structured text: URLs, paths, command lines, CSV, versions.

use super::*;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed("parse_url", T::Dynamic, |args, _| {
        parse_url(&text(args, 0)).map_or(Value::Null, Value::dynamic)
    }),
    fixed("parse_urlquery", T::Dynamic, |args, _| {
        let decode = codecs::url_decode;
        let params: serde_json::Map<String, J> = text(args, 0)
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), J::String(decode(v)))
            })
            .collect();
        Value::dynamic(serde_json::json!({ "Query Parameters": params }))
    })
    .grows(Growth::Elements),
    // parse_command_line(command, "windows"): the arguments as CommandLineToArgvW splits
    // them (null for any other parser).
    fixed("parse_command_line", T::Dynamic, |args, _| {
        if !text(args, 1).eq_ignore_ascii_case("windows") {
            return Value::Null;
        }
        Value::dynamic(J::Array(
            windows_argv(&text(args, 0))
                .into_iter()
                .map(J::String)
                .collect(),
        ))
    })
    .grows(Growth::Elements),
    fixed("parse_csv", T::Dynamic, |args, _| {
        Value::dynamic(J::Array(
            csv_fields(&text(args, 0))
                .into_iter()
                .map(J::String)
                .collect(),
        ))
    })
    .grows(Growth::Elements),
    // A version of up to four parts of up to eight digits, as one decimal number (`1.2.3.4` is
    // 1000000020000000300000004, every digit kept; compared as reals, so versions differing only
    // below the first ~16 digits compare equal, see value/decimal.rs).
    fixed("parse_version", T::Decimal, |args, _| {
        let s = |i: usize| text(args, i);
        let text = s(0);
        let parts: Vec<&str> = text.trim().split('.').collect();
        let valid = parts.len() <= 4
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Value::Null;
        }
        let v = (0..4).fold(0i128, |acc, i| {
            acc * 100_000_000
                + parts
                    .get(i)
                    .and_then(|p| p.parse::<i128>().ok())
                    .unwrap_or(0)
        });
        Value::Decimal(crate::value::Decimal::from_i128(v))
    }),
    fixed("parse_path", T::Dynamic, |args, _| {
        Value::dynamic(parse_path(&text(args, 0)))
    }),
];

/// A Windows command line split into arguments (CommandLineToArgvW's rules): white space
/// separates, double quotes group, `\"` is a quote and 2n backslashes before a quote are n.
pub(super) fn windows_argv(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut arg = String::new();
    let (mut quoted, mut started) = (false, false);
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let run = chars[i..].iter().take_while(|c| **c == '\\').count();
                i += run;
                if chars.get(i) == Some(&'"') {
                    arg.extend(std::iter::repeat_n('\\', run / 2));
                    if run % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', run));
                }
                started = true;
                continue;
            }
            '"' if quoted && chars.get(i + 1) == Some(&'"') => {
                arg.push('"');
                i += 1;
            }
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    args.push(std::mem::take(&mut arg));
                    started = false;
                }
            }
            c => {
                arg.push(c);
                started = true;
            }
        }
        i += 1;
    }
    if started {
        args.push(arg);
    }
    args
}

/// The fields of one CSV record: commas separate, double quotes enclose (`""` is a quote).
pub(super) fn csv_fields(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            other => field.push(other),
        }
    }
    fields.push(field);
    fields
}

/// `parse_url`: the parts of an absolute URL as Kusto names them.
pub(super) fn parse_url(url: &str) -> Option<J> {
    let (scheme, rest) = url.split_once("://")?;
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => (h, p),
        _ => (hostport, ""),
    };
    let mut params = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(k.to_string(), J::String(v.to_string()));
    }
    Some(serde_json::json!({
        "Scheme": scheme,
        "Host": host,
        "Port": port,
        "Path": path,
        "Username": user,
        "Password": password,
        "Query Parameters": params,
        "Fragment": fragment,
    }))
}

/// `parse_path`: directory, file name and extension of a Windows or Unix path.
pub(super) fn parse_path(path: &str) -> J {
    let (scheme, body) = match path.split_once("://") {
        Some((s, b)) => (s, b),
        None => ("", path),
    };
    let (dir, file) = match body.rfind(['\\', '/']) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => ("", body),
    };
    // `file.txt:stream` names an NTFS alternate data stream.
    let (file, stream) = file.split_once(':').unwrap_or((file, ""));
    let bytes = body.as_bytes();
    let root = if bytes.get(1) == Some(&b':') && matches!(bytes.get(2), Some(b'\\' | b'/')) {
        body.get(..3).unwrap_or("")
    } else {
        ""
    };
    let dir_name = dir.rsplit(['\\', '/']).next().unwrap_or("");
    let ext = file.rsplit_once('.').map_or("", |(_, e)| e);
    serde_json::json!({
        "Scheme": scheme,
        "RootPath": root,
        "DirectoryPath": dir,
        "DirectoryName": dir_name,
        "Filename": file,
        "Extension": ext,
        "AlternateDataStreamName": stream,
    })
}
