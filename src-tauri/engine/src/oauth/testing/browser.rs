//! A browser whose person always consents, for the authorization flow.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;

use super::super::consent::Browser;

/// A browser whose person always consents: it fetches the authorization
/// URL and follows the redirect to Gatehouse's listener, on a thread of its
/// own (the listener runs on the caller's event loop).
pub fn auto_consent() -> Browser {
    Browser::Function(Arc::new(|url: &str| {
        let url = url.to_string();
        std::thread::spawn(move || follow(&url));
        Ok(())
    }))
}

/// GETs `url` and follows redirects (at most five), like a browser.
pub fn follow(url: &str) {
    let mut url = url.to_string();
    for _ in 0..5 {
        match get(&url) {
            Some((status, Some(location))) if (300..400).contains(&status) => url = location,
            _ => return,
        }
    }
}

/// One plain HTTP/1.1 GET: the status and the `Location` header.
fn get(url: &str) -> Option<(u16, Option<String>)> {
    let parsed = url::Url::parse(url).ok()?;
    let addr = format!("{}:{}", parsed.host_str()?, parsed.port_or_known_default()?);
    let mut stream = TcpStream::connect(addr).ok()?;
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        parsed.host_str()?
    )
    .ok()?;
    // Only the head matters; the server may keep the connection open.
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line.trim_end().is_empty() {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    let mut lines = head.iter().map(String::as_str);
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let location = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    Some((status, location))
}
