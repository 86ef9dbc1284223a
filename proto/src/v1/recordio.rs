//! RecordIO, the framing of the v1 APIs' event streams: each record is its length in
//! decimal ASCII, a newline, then that many bytes of JSON. Each record goes out as
//! one HTTP chunk, which some clients (node's mesos-framework) rely on.

use bytes::Bytes;
use serde_json::Value;

/// One record of `event`: compact JSON, ASCII only (non-ASCII characters escaped as
/// `\uXXXX`), as Mesos writes it.
pub fn record(event: &Value) -> Bytes {
    let json = ascii_only(&event.to_string());
    Bytes::from(format!("{}\n{json}", json.len()))
}

/// Escapes every non-ASCII character. Outside strings JSON is all ASCII, so every
/// such character is inside a string, where the escape means the same.
fn ascii_only(json: &str) -> String {
    if json.is_ascii() {
        return json.to_owned();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_length_prefixed_compact_ascii_json() {
        assert_eq!(
            record(&json!({"type": "HEARTBEAT"})),
            Bytes::from_static(b"20\n{\"type\":\"HEARTBEAT\"}")
        );
        let record = record(&json!({"m": "h\u{e9}\u{1f600}"}));
        assert_eq!(
            record,
            Bytes::from_static(b"27\n{\"m\":\"h\\u00e9\\ud83d\\ude00\"}")
        );
        let (_, body) = std::str::from_utf8(&record)
            .unwrap()
            .split_once('\n')
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap()["m"],
            "h\u{e9}\u{1f600}"
        );
    }
}
