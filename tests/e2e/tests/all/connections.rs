//! Connections: slow or idle clients cannot hold the broker's connections, a partial body gets
//! an answer, the connection cap holds, and `/healthz` keeps answering throughout.

use std::time::{Duration, Instant};

use broker::config::Limits;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Setup, TestBroker};

/// A broker whose connection limits are short enough to test.
async fn broker(limits: Limits) -> TestBroker {
    TestBroker::with(Setup {
        limits,
        ..Setup::default()
    })
    .await
}

/// Whether the server closed `stream` within `within` (EOF or reset, after any answer).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Sends a complete `GET /healthz` on `stream` and reads the answer's first bytes, if any come
/// within `within`.
async fn healthz_on(stream: &mut TcpStream, within: Duration) -> Option<String> {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: broker\r\n\r\n")
        .await
        .ok()?;
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(within, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

async fn assert_healthy(t: &TestBroker) {
    let (status, _, body) = t.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn slowloris_clients_are_closed_after_the_header_timeout_and_healthz_answers() {
    let t = broker(Limits {
        header_read_secs: 1,
        idle_secs: 60,
        ..Setup::default().limits
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(t.broker.addr()).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nx-slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // Trickle one byte on each every 200 ms: bytes arriving do not extend the header limit.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2_500) {
        for stream in &mut slow {
            let _ = stream.write_all(b"a").await;
        }
        assert_healthy(&t).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(2)).await,
            "slowloris connection {i} is still open"
        );
    }
    assert_healthy(&t).await;
}

#[tokio::test]
async fn a_partial_body_gets_408_in_the_plugins_envelope() {
    let t = broker(Limits {
        body_read_secs: 1,
        ..Setup::default().limits
    })
    .await;
    let mut stream = TcpStream::connect(t.broker.addr()).await.unwrap();
    let head = format!(
        "POST /v1/hostile/echo HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer {}\r\n\
         x-request-id: partial-body-1\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"n\":",
        t.tenant_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            assert_healthy(&t).await;
        }
    })
    .await;
    assert!(read.is_ok(), "the broker answered and closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    let json: Value = serde_json::from_str(body).unwrap();
    let error = json["error"].as_str().unwrap();
    assert!(error.contains("did not arrive within 1 s"), "{error}");
    assert!(error.contains("partial-body-1"), "the request id: {error}");

    // The admin API answers the same in its own envelope.
    let mut stream = TcpStream::connect(t.broker.addr()).await.unwrap();
    let head = format!(
        "POST /admin/tenants HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer {}\r\n\
         content-length: 100\r\n\r\n{{\"name\":",
        t.admin_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the broker answered and closed")
        .ok();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert_healthy(&t).await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let t = broker(Limits {
        idle_secs: 1,
        ..Setup::default().limits
    })
    .await;
    let mut stream = TcpStream::connect(t.broker.addr()).await.unwrap();
    let answer = healthz_on(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Keep-alive: the same connection serves a second request within the idle time...
    let answer = healthz_on(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // ...and is closed once idle for `idle_secs`.
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_an_idle_one_closes() {
    let t = broker(Limits {
        max_connections: 4,
        idle_secs: 2,
        ..Setup::default().limits
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(t.broker.addr()).await.unwrap();
        let answer = healthz_on(&mut stream, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(stream);
    }
    // The fifth connects (the kernel's backlog) but is not served while four are open...
    let started = Instant::now();
    let mut fifth = TcpStream::connect(t.broker.addr()).await.unwrap();
    assert_eq!(
        healthz_on(&mut fifth, Duration::from_millis(1_000)).await,
        None,
        "served beyond the cap"
    );
    // ...and is served once the idle ones are closed, within `idle_secs`.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), fifth.read(&mut buf))
        .await
        .expect("served after the idle connections closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(1_000));
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(5)).await);
    }
    assert_healthy(&t).await;
}
