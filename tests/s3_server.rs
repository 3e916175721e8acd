//! The S3 test server itself (tests/common/s3.rs): objects go to a real moto and come back
//! byte for byte, a conditional create of an existing key is refused (the fact the
//! object-storage runtime relies on), a paused server does not answer and a resumed one
//! does, with its objects, and a stopped one is gone.

#[path = "common/s3.rs"]
mod s3;

use s3::S3Server;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// `len` bytes of a xorshift sequence: a misplaced or lost chunk changes them.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn objects_are_put_listed_read_back_and_deleted() {
    let server = S3Server::start();
    assert_eq!(server.list_keys(), Vec::<String>::new());
    let big = noise(3 << 20);
    server.put("run/big.ckpt", &big);
    // A form-like body and a key that needs escaping in a URL and in XML.
    server.put("run/a&b c.txt", b"a=b&c");
    assert_eq!(server.list_keys(), ["run/a&b c.txt", "run/big.ckpt"]);
    assert!(server.get("run/big.ckpt") == Some(big), "3 MB changed");
    assert_eq!(server.get("run/a&b c.txt").unwrap(), b"a=b&c");
    assert_eq!(server.get("run/none"), None);
    server.delete("run/big.ckpt");
    server.delete("run/a&b c.txt");
    assert_eq!(server.list_keys(), Vec::<String>::new());
    assert_eq!(server.get("run/big.ckpt"), None);
}

#[test]
fn a_conditional_create_of_an_existing_key_is_refused() {
    let server = S3Server::start();
    let create = [("If-None-Match", "*")];
    let put = |key: &str, body: &[u8]| {
        let path = server.key_path(key);
        let response = server.request("PUT", &path, &create, body, Duration::from_secs(10));
        response.unwrap().status
    };
    assert_eq!(put("ckpt", b"first"), 200, "a create of a new key");
    assert_eq!(put("ckpt", b"second"), 412, "a create of an existing key");
    assert_eq!(server.get("ckpt").unwrap(), b"first");
}

#[test]
fn a_paused_server_does_not_answer_and_a_resumed_one_has_its_objects() {
    let server = S3Server::start();
    server.put("kept", b"state");
    server.pause();
    let path = server.key_path("kept");
    let response = server.request("GET", &path, &[], b"", Duration::from_secs(1));
    assert!(response.is_err(), "a paused server answered: {response:?}");
    server.resume();
    assert_eq!(server.get("kept").unwrap(), b"state");
}

#[test]
fn two_servers_have_their_own_ports_buckets_and_objects() {
    let one = S3Server::start();
    let two = S3Server::start();
    assert_ne!(one.port(), two.port());
    assert_ne!(one.bucket(), two.bucket());
    one.put("only-in-one", b"1");
    assert_eq!(two.list_keys(), Vec::<String>::new());
    assert_eq!(one.url("runs/x"), format!("s3://{}/runs/x", one.bucket()));
    let endpoint = (
        "AWS_ENDPOINT".to_owned(),
        format!("http://127.0.0.1:{}", two.port()),
    );
    assert!(two.env().contains(&endpoint));
}

#[test]
fn a_restart_keeps_the_port_and_an_empty_bucket() {
    let mut server = S3Server::start();
    let port = server.port();
    server.put("lost", b"in memory");
    server.restart();
    assert_eq!(server.port(), port);
    assert_eq!(server.list_keys(), Vec::<String>::new());
    server.put("new", b"after");
    assert_eq!(server.get("new").unwrap(), b"after");
}

#[test]
fn a_stopped_server_is_gone() {
    let mut server = S3Server::start();
    server.stop();
    assert!(!Path::new(&format!("/proc/{}", server.pid())).exists());
    let refused = TcpStream::connect(("127.0.0.1", server.port())).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    server.stop(); // idempotent, as Drop calls it again
}
