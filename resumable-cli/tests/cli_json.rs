//! `list --json` and `show --json` of a directory, parsed back and compared with the real
//! state: checkpoints left by real `#[resumable]` runs of this process, copies of them made
//! torn or damaged, and files set aside by `reset`.

mod common;

use std::fs;
use std::panic::catch_unwind;

use common::{cli, generations, move_checkpoint, now_ms, remove_checkpoint, run_dir, scratch};
use resumable::resumable;
use serde_json::{Value, json};

common::squares_job!("cli-json");

/// The entry of checkpoint `name` in a `list --json`.
fn entry<'a>(listing: &'a Value, name: &str) -> &'a Value {
    listing["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|checkpoint| checkpoint["name"] == name)
        .unwrap_or_else(|| panic!("no checkpoint {name} in {listing:#}"))
}

#[test]
fn list_and_show_as_json_give_the_real_state() {
    let runs = run_dir();
    remove_checkpoint(&runs, "cli-json");
    let dir = scratch("json");
    let dir_arg = dir.to_str().unwrap();

    // A loop that fails at 42 saves its checkpoint there (its records: 5, 10, …, 40, 42).
    let before = now_ms();
    assert!(catch_unwind(|| squares(100, Some(42))).is_err());
    let after = now_ms();
    move_checkpoint(&runs, &dir, "cli-json");
    let log = fs::read(dir.join("cli-json.ckpt")).unwrap();
    // The same log cut in its last record, and with its last byte flipped; a copy reset.
    fs::write(dir.join("cli-json-torn.ckpt"), &log[..log.len() - 3]).unwrap();
    let mut damaged = log.clone();
    *damaged.last_mut().unwrap() ^= 0x01;
    fs::write(dir.join("cli-json-damaged.ckpt"), &damaged).unwrap();
    fs::write(dir.join("cli-json-old.ckpt"), &log).unwrap();
    let reset_at = now_ms();
    let reset = cli(&["reset", "cli-json-old", "--dir", dir_arg]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);

    let listing = cli(&["list", "--json", "--dir", dir_arg]).json();
    assert_eq!(listing["kind"], "dir");
    assert_eq!(listing["location"], dir_arg);
    let names: Vec<&str> = listing["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|checkpoint| checkpoint["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cli-json", "cli-json-damaged", "cli-json-torn"]);

    let sum = entry(&listing, "cli-json");
    let size: u64 = generations(&dir, "cli-json")
        .iter()
        .map(|path| fs::metadata(path).unwrap().len())
        .sum();
    assert!(size > 0);
    let saved_at = sum["saved_at_ms"].as_u64().unwrap();
    assert!((before..=after).contains(&saved_at), "{sum:#}");
    assert_eq!(
        *sum,
        json!({
            "name": "cli-json",
            "path": dir.join("cli-json.ckpt").to_str().unwrap(),
            "function": "cli-json",
            "key": null,
            "label": "cli-json",
            "index": 42,
            "saved_at_ms": saved_at,
            "size": size,
            "health": "ok",
            "ok": true,
            "damaged": false,
            "load": "newest",
            "why": null,
            "issues": [],
        })
    );
    // A torn tail is not damage: the record before (40) loads.
    let torn = entry(&listing, "cli-json-torn");
    assert_eq!(torn["index"], 40);
    assert_eq!(
        (&torn["health"], &torn["ok"]),
        (&json!("torn tail"), &json!(false))
    );
    assert_eq!(
        (&torn["damaged"], &torn["load"]),
        (&json!(false), &json!("newest"))
    );
    assert_eq!(
        torn["issues"],
        json!([{"kind": "torn_tail", "file": "log", "problem": null, "text": "torn tail"}])
    );
    // A checksum failure is: a run warns and resumes from the record before.
    let bad = entry(&listing, "cli-json-damaged");
    assert_eq!(bad["index"], 40);
    assert_eq!(
        (&bad["damaged"], &bad["load"]),
        (&json!(true), &json!("fallback"))
    );
    assert_eq!(bad["ok"], false);
    let why = bad["why"].as_str().unwrap();
    assert!(
        why.contains("cli-json-damaged.ckpt") && why.contains("checksum"),
        "{why}"
    );
    assert_eq!(bad["issues"][0]["kind"], "damaged");
    assert_eq!(bad["issues"][0]["file"], "log");
    assert!(bad["health"].as_str().unwrap().starts_with("damaged: "));
    // The reset copy: set aside, with its time and size.
    let [aside] = listing["set_aside"].as_array().unwrap().as_slice() else {
        panic!("{listing:#}");
    };
    let path = aside["path"].as_str().unwrap();
    let at = aside["at_ms"].as_u64().unwrap();
    assert!((reset_at..=now_ms()).contains(&at), "{aside:#}");
    assert_eq!(
        path,
        format!("{}.reset-{at}", dir.join("cli-json-old.ckpt").display())
    );
    assert_eq!(aside["why"], "reset");
    assert_eq!(aside["size"], log.len() as u64);
    // The positional directory gives the same document.
    let positional = cli(&["list", dir_arg, "--json"]).json();
    assert_eq!(positional, listing);

    let show = cli(&["show", "cli-json", "--dir", dir_arg, "--json"]).json();
    // Every field of the listing's entry, and the details.
    for (field, value) in sum.as_object().unwrap() {
        assert_eq!(&show[field], value, "{field}");
    }
    assert_eq!(show["bindings"], json!(["results", "total"]));
    let shape = show["shape"].as_str().unwrap();
    assert!(
        shape.contains("== results") && shape.contains("root: [u64]"),
        "{shape}"
    );
    assert_eq!(show["store"], Value::Null);
    let [file] = show["files"].as_array().unwrap().as_slice() else {
        panic!("{show:#}");
    };
    assert_eq!(file["generation"], "log");
    assert_eq!(file["format"], "log");
    assert_eq!(file["size"], log.len() as u64);
    assert_eq!(file["problem"], Value::Null);
    let records = file["records"].as_array().unwrap();
    let indexes: Vec<u64> = records
        .iter()
        .map(|record| record["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes.last(), Some(&42), "{indexes:?}");
    assert!(
        indexes.windows(2).all(|pair| pair[0] < pair[1]),
        "{indexes:?}"
    );
    let newest = records.last().unwrap();
    assert_eq!(
        newest["parts"][0],
        json!({"binding": "results", "kind": "elements", "from": 40, "to": 42,
               "len": newest["parts"][0]["len"]})
    );
    assert!(newest["parts"][0]["len"].as_u64().unwrap() > 0);
    assert_eq!(newest["parts"][1]["binding"], "total");
    assert_eq!(newest["parts"][1]["kind"], "whole");
    assert_eq!(newest["position"], Value::Null);
    let record_bytes: u64 = records
        .iter()
        .map(|record| record["size"].as_u64().unwrap())
        .sum();
    assert!(record_bytes > 0 && record_bytes < log.len() as u64);
    assert_eq!(
        show["newest"],
        json!({"file": "log", "seq": newest["seq"], "index": 42, "saved_at_ms": saved_at,
               "size": newest["size"], "position": null})
    );

    // A damaged file's problem, and the torn one's.
    let shown = cli(&["show", "cli-json-damaged", "--dir", dir_arg, "--json"]).json();
    assert_eq!(shown["files"][0]["problem"]["kind"], "damaged");
    assert!(
        shown["files"][0]["problem"]["detail"]
            .as_str()
            .unwrap()
            .contains("checksum")
    );
    let shown = cli(&["show", "cli-json-torn", "--dir", dir_arg, "--json"]).json();
    assert_eq!(
        shown["files"][0]["problem"],
        json!({"kind": "torn_tail", "detail": null})
    );
    // An unknown name is an error, not a document.
    let unknown = cli(&["show", "nope", "--dir", dir_arg, "--json"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stdout.is_empty(), "{}", unknown.stdout);
    fs::remove_dir_all(dir).unwrap();
}

#[resumable(every = 3, name = "cli-json-nest", inner = 'cells, key = ())]
fn grid(rows: u64, cols: u64, panic_at: (u64, u64)) -> u64 {
    let mut total = 0;
    for r in 0..rows {
        let mut row = 0;
        'cells: for c in 0..cols {
            if (r, c) == panic_at {
                panic!("injected failure at {r}, {c}");
            }
            row += r * c;
        }
        total += row;
    }
    total
}

#[test]
fn show_as_json_gives_a_nests_position() {
    let runs = run_dir();
    remove_checkpoint(&runs, "cli-json-nest");
    let dir = scratch("json-nest");
    assert!(catch_unwind(|| grid(4, 5, (2, 1))).is_err());
    move_checkpoint(&runs, &dir, "cli-json-nest");
    let show = cli(&[
        "show",
        "cli-json-nest",
        "--json",
        "--dir",
        dir.to_str().unwrap(),
    ])
    .json();
    assert_eq!(show["index"], 11);
    assert_eq!(show["newest"]["position"], json!({"outer": 2, "inner": 1}));
    fs::remove_dir_all(dir).unwrap();
}
