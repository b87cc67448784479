//! The `multipart/form-data` reader of `POST /image`: finds the file field (Thumbor reads the
//! `media` field) in a body already read into memory (and capped), as Tornado parses forms.
//! Only what the upload needs is read: each part's `Content-Disposition` name and filename,
//! and its bytes, borrowed from the body.

/// A file part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePart<'a> {
    /// `filename=` of its Content-Disposition (possibly empty).
    pub filename: String,
    pub body: &'a [u8],
}

/// Most parts read from one form: more is not a form an upload client sends.
const MAX_PARTS: usize = 100;

/// The boundary of a `multipart/form-data` content type, `None` for any other type or a
/// boundary RFC 2046 does not allow (empty, or over 70 characters).
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let media_type = params.next()?.trim();
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| unquote(value.trim()))
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// The first part of `body` named `field` that has a filename (Tornado counts only those as
/// files). `None` when there is none, or when the body is not a well-formed form (Thumbor
/// then takes the body itself as the image, which fails as not an image).
pub fn find_file<'a>(body: &'a [u8], boundary: &str, field: &str) -> Option<FilePart<'a>> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // The preamble before the first delimiter is ignored.
    let mut at = find(body, delimiter)? + delimiter.len();
    for _ in 0..MAX_PARTS {
        let rest = body.get(at..)?;
        if rest.starts_with(b"--") {
            return None; // the closing delimiter
        }
        let rest = rest.strip_prefix(b"\r\n")?;
        let start = body.len() - rest.len();
        // A part ends at CRLF + delimiter.
        let mut end_marker = b"\r\n".to_vec();
        end_marker.extend_from_slice(delimiter);
        let length = find(rest, &end_marker)?;
        let part = &body[start..start + length];
        at = start + length + end_marker.len();
        let header_end = find(part, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&part[..header_end]).ok()?;
        let content = &part[header_end + 4..];
        let disposition = headers.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value.trim())
        });
        let Some(disposition) = disposition else {
            continue;
        };
        let mut params = disposition.split(';');
        if !params
            .next()
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
        {
            continue;
        }
        let (mut name, mut filename) = (None, None);
        for param in params {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "name" => name = Some(unquote(value.trim())),
                "filename" => filename = Some(unquote(value.trim())),
                _ => {}
            }
        }
        if let (Some(name), Some(filename)) = (name, filename) {
            if name == field {
                return Some(FilePart {
                    filename,
                    body: content,
                });
            }
        }
    }
    None
}

/// A parameter value without its quotes, `\"` and `\\` unescaped.
fn unquote(value: &str) -> String {
    match value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
    {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => value.to_string(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut body = b"preamble\r\n".to_vec();
        for (name, filename, content) in parts {
            body.extend_from_slice(b"--XyZ\r\n");
            let filename = filename
                .map(|f| format!("; filename=\"{f}\""))
                .unwrap_or_default();
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"{filename}\r\nContent-Type: image/png\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        body
    }

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=XyZ").as_deref(),
            Some("XyZ")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("image/png; boundary=x"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }

    #[test]
    fn finds_the_named_file_field() {
        let body = form(&[
            ("title", None, b"a cat"),
            (
                "media",
                Some("cat \\\"1\\\".png"),
                b"\x89PNG\r\n--XY\r\nbytes",
            ),
        ]);
        let part = find_file(&body, "XyZ", "media").unwrap();
        assert_eq!(part.filename, "cat \"1\".png");
        assert_eq!(part.body, b"\x89PNG\r\n--XY\r\nbytes");
        // A field without a filename is not a file; another name is not the field.
        assert_eq!(find_file(&body, "XyZ", "title"), None);
        assert_eq!(find_file(&body, "XyZ", "other"), None);
    }

    #[test]
    fn malformed_forms_have_no_file() {
        let body = form(&[("media", Some("a.png"), b"data")]);
        for cut in 0..body.len() - b"\r\n--XyZ--\r\n".len() {
            // Truncated before the part's closing delimiter: no file.
            assert_eq!(find_file(&body[..cut], "XyZ", "media"), None, "{cut}");
        }
        assert_eq!(find_file(b"", "XyZ", "media"), None);
        assert_eq!(find_file(b"--XyZ", "XyZ", "media"), None);
        assert_eq!(find_file(&body, "other", "media"), None);
    }
}
