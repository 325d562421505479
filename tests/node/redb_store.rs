//! The node runtime over redb on disk: counts and identity survive closing the database, a
//! path that cannot be opened is a clear error, and a damaged file is an error, not a panic.
#![cfg(not(target_arch = "wasm32"))]

use super::common;

use common::*;
use futures::executor::block_on;
use warpnet_stats::{Action, Mark, Node, OpenError, RedbStore, StoreError};

#[test]
fn counts_and_identity_survive_closing_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("node.redb");
    let (id, generation) = {
        let node = open_node(RedbStore::open(&path).expect("opens"));
        assert!(node.persistent());
        for i in 0..10 {
            act(&node, "t", Action::Like(user(&format!("u{i}")))).expect("commits");
        }
        act(&node, "t", Action::Unlike(user("u3"))).expect("commits");
        (node.node_id(), node.generation())
    };
    let node = open_node(RedbStore::open(&path).expect("reopens"));
    assert_eq!((node.node_id(), node.generation()), (id, generation));
    assert_eq!(node.stats(&tweet("t")).likes, 9);
    assert!(!node.has_mark(Mark::Liked, &tweet("t"), "u3"));
    assert_eq!(act(&node, "t", Action::Like(user("u4"))), Ok(9));
}

#[test]
fn an_unopenable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = RedbStore::open(dir.path()).expect_err("a directory is not a database");
    assert!(
        matches!(&error, StoreError::Open { location, .. } if location == &dir.path().display().to_string()),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("cannot open the store "), "{error}");
    assert!(std::error::Error::source(&error).is_some(), "the redb error is kept");
}

/// 4 KiB of noise written over any page of a store's file: opening it either works (the page
/// was free) or fails with an error, never a panic (redb panics on some damaged pages:
/// "Invalid page type byte"; the store turns that into `StoreError::Damaged`).
#[test]
fn a_damaged_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("node.redb");
    {
        let node = open_node(RedbStore::open(&path).expect("opens"));
        for i in 0..300 {
            act(&node, &format!("t{}", i % 40), Action::Like(user(&format!("u{i}"))))
                .expect("commits");
        }
    }
    let pristine = std::fs::read(&path).expect("reads");
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    let (mut damaged, mut failed) = (0, 0);
    for page in 0..pristine.len() / 4096 {
        let mut bytes = pristine.clone();
        for byte in &mut bytes[page * 4096..(page + 1) * 4096] {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            *byte = noise as u8;
        }
        std::fs::write(&path, &bytes).expect("writes");
        let opened = RedbStore::open(&path).map(|store| {
            block_on(Node::open(namespace(), RULES, store)).map(|node| {
                // Whatever opened still acts, or fails cleanly.
                let _ = act(&node, "t0", Action::Like(user("late")));
            })
        });
        match opened {
            Ok(Ok(())) => {}
            Err(StoreError::Damaged { .. })
            | Ok(Err(OpenError::Store(StoreError::Damaged { .. }))) => damaged += 1,
            Err(_) | Ok(Err(_)) => failed += 1,
        }
    }
    assert!(damaged + failed > 0, "some page mattered");
    println!("{damaged} pages made redb fail inside, {failed} gave it an error");
}
