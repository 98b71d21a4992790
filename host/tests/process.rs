//! The broker as a process: shutdown on SIGTERM is bounded by the drain deadline, and a second
//! signal exits at once. Each test runs `broker serve` (simulator mode, no plugins) with its own
//! data directory on a port the kernel picks, read back from the start-up log line.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Running;

mod common;

/// A connection that sent part of a request head and nothing more.
fn slowloris(running: &Running) -> TcpStream {
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nx-slow: ")
        .unwrap();
    stream
}

/// A request in flight: an admin call whose body never completes.
fn partial_body(running: &Running) -> TcpStream {
    let key = running.key(broker::bootstrap::ADMIN_KEY_FILE);
    let mut stream = TcpStream::connect(running.addr).unwrap();
    let head = format!(
        "POST /admin/tenants HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer {}\r\n\
             content-length: 100\r\n\r\n{{\"name\":",
        key
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

fn assert_healthy(running: &Running) {
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: broker\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn sigterm_exits_within_the_drain_deadline_despite_slow_clients() {
    let mut broker = Running::start(
        &[],
        "header_read_secs = 600\nbody_read_secs = 600\ndrain_secs = 2",
    );
    assert_healthy(&broker);
    let _slow = slowloris(&broker);
    let _in_flight = partial_body(&broker);
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    broker.signal("TERM");
    let status = broker
        .wait_exit(Duration::from_secs(20))
        .expect("the broker exits after SIGTERM although clients hold connections");
    let took = signalled.elapsed();
    assert!(status.success(), "a drained shutdown exits 0: {status}");
    assert!(
        took >= Duration::from_millis(1_500),
        "the request in flight was given the drain time ({took:?})"
    );
}

#[test]
fn a_second_signal_exits_at_once() {
    let mut broker = Running::start(
        &[],
        "header_read_secs = 600\nbody_read_secs = 600\ndrain_secs = 600",
    );
    assert_healthy(&broker);
    let _slow = slowloris(&broker);
    let _in_flight = partial_body(&broker);
    std::thread::sleep(Duration::from_millis(300));
    broker.signal("TERM");
    assert!(
        broker.wait_exit(Duration::from_millis(700)).is_none(),
        "the first signal drains (a request is in flight)"
    );
    broker.signal("INT");
    let status = broker
        .wait_exit(Duration::from_secs(5))
        .expect("the second signal ends the process at once");
    assert!(
        !status.success(),
        "an undrained exit is not a success: {status}"
    );
}
