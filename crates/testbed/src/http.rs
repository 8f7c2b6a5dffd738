//! Just enough HTTP/1.1 for Sigstore clients on loopback: one request per
//! connection, `Content-Length` bodies, bounded sizes and timeouts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// A request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string (after `?`), if any.
    pub query: String,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A query parameter (no percent-decoding beyond `%2F`, `%40`, `%3A`).
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| {
                v.replace("%2F", "/")
                    .replace("%2f", "/")
                    .replace("%40", "@")
                    .replace("%3A", ":")
                    .replace("%3a", ":")
            })
        })
    }
}

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    /// An error in the shape Fulcio and Rekor use.
    pub fn error(status: u16, message: &str) -> Response {
        Response::json(
            status,
            &serde_json::json!({"code": status, "message": message}),
        )
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Reads one request; `Err` carries the response to send instead.
pub fn read_request(stream: &TcpStream) -> Result<Request, Response> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.take(MAX_HEADER_BYTES as u64 + MAX_BODY_BYTES as u64));
    let mut line = String::new();
    let mut header_bytes = 0usize;
    let mut next_line = |reader: &mut BufReader<_>, line: &mut String| -> Result<(), Response> {
        line.clear();
        let n = reader
            .read_line(line)
            .map_err(|_| Response::error(400, "unreadable request"))?;
        header_bytes += n;
        if n == 0 || header_bytes > MAX_HEADER_BYTES {
            return Err(Response::error(400, "truncated or oversized request head"));
        }
        Ok(())
    };
    next_line(&mut reader, &mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let target = words.next().unwrap_or_default().to_owned();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target.clone(), String::new()),
    };
    let mut length = 0usize;
    let mut authorization = None;
    loop {
        next_line(&mut reader, &mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let Some((name, value)) = trimmed.split_once(':') else {
            return Err(Response::error(400, "malformed header"));
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => {
                length = value
                    .parse()
                    .map_err(|_| Response::error(400, "bad Content-Length"))?;
            }
            "transfer-encoding" => {
                return Err(Response::error(411, "send a Content-Length body"));
            }
            "authorization" => authorization = Some(value.to_owned()),
            _ => {}
        }
    }
    if length > MAX_BODY_BYTES {
        return Err(Response::error(413, "request body too large"));
    }
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .map_err(|_| Response::error(400, "truncated request body"))?;
    Ok(Request {
        method,
        path,
        query,
        authorization,
        body,
    })
}

/// Writes a response and closes the connection.
pub fn write_response(mut stream: &TcpStream, response: &Response) {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&response.body))
        .and_then(|()| stream.flush());
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
