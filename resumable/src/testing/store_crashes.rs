//! The store's crash tests, on the simulated disk: a power loss, a kill or a failed step at
//! every point of saving (new logs, appends, compactions, a resumed log, a full disk) leaves
//! a checkpoint that recovery finds, no older than the last durable one; a damaged log loads
//! a saved state or is refused, never a wrong one.

use std::ops::RangeInclusive;

use std::io;
use std::path::{Path, PathBuf};

use crate::format::checkpoint;
use crate::format::hash;
use crate::format::log::{self, LogMeta, Part};
use crate::store::files::Generations;
use crate::store::fs::Fs as _;
use crate::store::journal::{Journal, Sink, SyncJob};
use crate::store::recover;
use crate::testing::sim_fs::{Fault, SimFs};

const LABEL: &str = "sim";
const SHAPE: &str = "== results\n[u64]\n== text\nstring";
const SAVES: u64 = 7;

fn generations() -> Generations {
    Generations::of(PathBuf::from("/ckpt/job.ckpt"))
}

/// The state after `index` iterations: a growing `Vec` and a `String` saved whole.
type State = (Vec<u64>, String);

fn state(index: u64) -> State {
    (
        (0..index * 3).map(|i| i * i).collect(),
        format!("at {index}"),
    )
}

/// The header of the logs these tests write.
fn meta() -> LogMeta {
    LogMeta {
        fingerprint: hash::fingerprint(LABEL, SHAPE),
        label: LABEL.into(),
        shape: SHAPE.into(),
    }
}

/// Writes the record of `state(index)` as the runtime does: the vector's elements after
/// those the record before saved (all of them in a new file), the text whole.
fn write_state(
    fs: &SimFs,
    journal: &mut Journal,
    index: u64,
    new_file: bool,
) -> Result<SyncJob, crate::Error> {
    let (items, text) = state(index);
    let from = if new_file {
        0
    } else {
        state(index - 1).0.len() as u64
    };
    journal.begin(new_file);
    let sink = Sink::new(fs);
    let span = (from, items.len() as u64);
    let added = journal
        .extend(&sink, span, items.len() - from as usize, &|range, buf| {
            for item in &items[from as usize..][range] {
                buf.extend_from_slice(&postcard::to_allocvec(item).unwrap());
            }
            Ok(())
        })
        .and_then(|()| journal.whole(&sink, &text));
    if let Err(err) = added {
        // A data frame failed to write: the save is abandoned, as `Save` does.
        journal.abandon_record(fs);
        return Err(err);
    }
    journal.write(fs, new_file, index, 0, None, &[])
}

/// How the run hands records to the background thread: synced one by one, or two at a
/// time (group commit: the second job merges into the first).
#[derive(Clone, Copy, Debug)]
enum Schedule {
    EachRecord,
    EveryOther,
    /// Each record synced, its data written in frames of a few bytes as it is serialized.
    InFrames,
}

/// Saves indexes 1..=SAVES as the runtime does, the vector appended and the text whole,
/// until the disk fails; the sync jobs run inline. Returns the last index made durable.
fn save_all(fs: &SimFs, schedule: Schedule) -> Option<u64> {
    save_all_keeping(fs, schedule, None)
}

/// [`save_all`], which also keeps in `previous` the log each compaction replaced (removed
/// from the disk once the new one is in place): what a crash between the renames leaves
/// as `.prev`.
fn save_all_keeping(
    fs: &SimFs,
    schedule: Schedule,
    mut previous: Option<&mut Option<Vec<u8>>>,
) -> Option<u64> {
    let mut journal = Journal::new(generations(), &meta(), 0);
    journal.set_compaction_floor(0);
    if matches!(schedule, Schedule::InFrames) {
        journal.set_flush_bytes(8);
    }
    let mut pending: Option<(SyncJob, u64)> = None;
    let mut durable = None;
    for index in 1..=SAVES {
        let compaction_pending = pending.as_ref().is_some_and(|(job, _)| job.compacts());
        let new_file = journal.wants_new_file() && !compaction_pending;
        let Ok(job) = write_state(fs, &mut journal, index, new_file) else {
            break;
        };
        let job = match pending.take() {
            Some((earlier, _)) => earlier.merge(job),
            None => job,
        };
        let due = !matches!(schedule, Schedule::EveryOther) || index % 2 == 0;
        if !due {
            pending = Some((job, index));
            continue;
        }
        if job.compacts()
            && let Some(previous) = previous.as_deref_mut()
        {
            *previous = fs.read(&generations().newest).unwrap();
        }
        if job.run(fs).is_err() {
            break;
        }
        durable = Some(index);
    }
    durable
}

/// A log of every index 1..=SAVES, one record each, never compacted.
fn uncompacted_log() -> Vec<u8> {
    let fs = SimFs::new(Fault::Healthy);
    let mut journal = Journal::new(generations(), &meta(), 0);
    journal.set_compaction_floor(u64::MAX);
    for index in 1..=SAVES {
        let job = write_state(&fs, &mut journal, index, index == 1).unwrap();
        job.run(&fs).unwrap();
    }
    let log = fs.read(&generations().newest).unwrap().unwrap();
    let records = log::scan(&log[..]).unwrap().ok().unwrap().records.len();
    assert_eq!(records as u64, SAVES);
    log
}

/// How many operations `save_all` makes when nothing goes wrong: the steps to fault.
fn ops_of_a_healthy_run(schedule: Schedule) -> usize {
    let fs = SimFs::new(Fault::Healthy);
    save_all(&fs, schedule);
    fs.ops()
}

/// Recovery, then decoding, of whatever is on `fs`: the index and state, or an error.
fn load(fs: &SimFs) -> Result<Option<(u64, State)>, crate::Error> {
    Ok(load_noting_damage(fs)?.map(|(index, state, _)| (index, state)))
}

/// [`load`], and the damaged file recovery kept aside, if it kept one.
fn load_noting_damage(fs: &SimFs) -> Result<Option<(u64, State, Option<PathBuf>)>, crate::Error> {
    let Some(recovered) = recover::recover(fs, &generations(), LABEL, SHAPE)? else {
        return Ok(None);
    };
    let aside = recovered.set_aside.as_ref().map(|(path, _)| path.clone());
    let mut reader = recovered.loaded.payload.reader();
    let here = Path::new("x");
    let items = reader
        .value()
        .map_err(|err| checkpoint::decode_failed(here, err))?;
    let text = reader
        .value()
        .map_err(|err| checkpoint::decode_failed(here, err))?;
    assert_eq!(reader.remaining(), 0);
    Ok(Some((recovered.loaded.meta.index, (items, text), aside)))
}

/// The index recovery finds on `fs`, checking that the state is exactly what was saved.
fn recovered_index(fs: &SimFs) -> Option<u64> {
    let (index, found) = load(fs).unwrap_or_else(|err| panic!("recovery failed: {err}"))?;
    assert_eq!(found, state(index), "state does not match its index");
    Some(index)
}

#[test]
fn power_loss_at_every_step_leaves_a_checkpoint_no_older_than_the_last_durable_one() {
    for schedule in [
        Schedule::EachRecord,
        Schedule::EveryOther,
        Schedule::InFrames,
    ] {
        let total_ops = ops_of_a_healthy_run(schedule);
        let mut disks = 0;
        for crash_at in 0..=total_ops {
            let fs = SimFs::new(Fault::CrashBefore(crash_at));
            let durable = save_all(&fs, schedule);
            for disk in fs.crash_states() {
                disks += 1;
                let found = recovered_index(&disk);
                assert!(
                    found >= durable,
                    "{schedule:?}, crash before op {crash_at}: found {found:?}, but \
                     {durable:?} was durable (names {:?})",
                    disk.names()
                );
                // Recovery leaves the disk loadable as it found it: a second run agrees.
                assert_eq!(recovered_index(&disk), found, "{schedule:?} {crash_at}");
            }
        }
        assert!(
            disks > total_ops,
            "only {disks} disk states for {total_ops} crash points"
        );
        eprintln!("{schedule:?}: {total_ops} crash points, {disks} disk states recovered");
    }
}

/// In frames of a few bytes, records go to the log in several data frames each, and read
/// back as the state that was saved.
#[test]
fn records_written_in_frames_read_back_whole() {
    let framed = SimFs::new(Fault::Healthy);
    assert_eq!(save_all(&framed, Schedule::InFrames), Some(SAVES));
    let log = framed.read(&generations().newest).unwrap().unwrap();
    let scan = crate::format::log::scan(&log).unwrap().unwrap();
    assert_eq!(scan.version, crate::format::log::FRAMED_VERSION);
    let frames: Vec<usize> = scan
        .records
        .iter()
        .map(|record| record.data.len())
        .collect();
    assert!(
        frames.iter().any(|&n| n > 1),
        "frames per record: {frames:?}"
    );
    assert_eq!(recovered_index(&framed), Some(SAVES));
}

#[test]
fn a_process_kill_at_every_step_loses_nothing_written() {
    // A kill (not a power loss) keeps everything written: the newest record is found.
    for schedule in [
        Schedule::EachRecord,
        Schedule::EveryOther,
        Schedule::InFrames,
    ] {
        let total_ops = ops_of_a_healthy_run(schedule);
        for crash_at in 0..=total_ops {
            let fs = SimFs::new(Fault::CrashBefore(crash_at));
            save_all(&fs, schedule);
            let written = fs
                .contents()
                .iter()
                .filter_map(|bytes| {
                    crate::format::log::scan(bytes)
                        .unwrap()
                        .ok()
                        .and_then(|scan| scan.records.last().map(|r| r.head.index))
                })
                .max();
            let found = recovered_index(&fs.after_kill());
            assert_eq!(found, written, "{schedule:?}, kill before op {crash_at}");
        }
    }
}

#[test]
fn a_failed_step_keeps_the_last_checkpoint_and_leaves_no_temp_file() {
    for schedule in [Schedule::EachRecord, Schedule::InFrames] {
        a_failed_step_keeps_the_last_checkpoint(schedule);
    }
}

fn a_failed_step_keeps_the_last_checkpoint(schedule: Schedule) {
    let total_ops = ops_of_a_healthy_run(schedule);
    let kinds = [
        io::ErrorKind::StorageFull,
        io::ErrorKind::Other,
        io::ErrorKind::PermissionDenied,
    ];
    for at in 0..total_ops {
        for kind in kinds {
            let fs = SimFs::new(Fault::FailAt(at, kind));
            let durable = save_all(&fs, schedule);
            let found = recovered_index(&fs);
            assert!(
                found >= durable,
                "{schedule:?}, fault at {at} ({kind:?}): found {found:?}, durable {durable:?}"
            );
            let temps: Vec<_> = fs
                .names()
                .into_iter()
                .filter(|name| name.to_string_lossy().contains(".tmp-"))
                .collect();
            assert!(temps.is_empty(), "fault at {at} ({kind:?}) left {temps:?}");
        }
    }
}

/// Saves `indexes` into `journal` as `save_all` does, syncing each.
fn save_range(fs: &SimFs, journal: &mut Journal, indexes: RangeInclusive<u64>) {
    for index in indexes {
        let new_file = journal.wants_new_file();
        write_state(fs, journal, index, new_file)
            .unwrap()
            .run(fs)
            .unwrap();
    }
}

/// A run that resumes a log goes on appending to it: the log it leaves is, byte for byte,
/// the one a run that never stopped writes (compactions included, at the same records),
/// even after a record cut short at its end.
#[test]
fn a_resumed_run_appends_to_the_log_it_resumed_from() {
    let journal = |seq, floor| {
        let mut journal = Journal::new(generations(), &meta(), seq);
        journal.set_compaction_floor(floor);
        journal
    };
    for floor in [1 << 20, 0] {
        let uninterrupted = SimFs::new(Fault::Healthy);
        let mut straight = journal(0, floor);
        save_range(&uninterrupted, &mut straight, 1..=4);
        let tracking = straight.tracking();
        save_range(&uninterrupted, &mut straight, 5..=SAVES);
        for torn in [0, 5] {
            let fs = SimFs::new(Fault::Healthy);
            save_range(&fs, &mut journal(0, floor), 1..=4);
            fs.tear(&generations().newest, &[7; 5][..torn]);
            let recovered = recover::recover(&fs, &generations(), LABEL, SHAPE)
                .unwrap()
                .unwrap();
            assert_eq!(recovered.loaded.meta.index, 4);
            let mut resumed = journal(recovered.loaded.seq, floor);
            resumed
                .resume(&fs, recovered.loaded.log.as_ref().unwrap())
                .unwrap();
            assert_eq!(resumed.tracking(), tracking, "floor {floor}, torn {torn}");
            save_range(&fs, &mut resumed, 5..=SAVES);
            assert_eq!(
                fs.read(&generations().newest).unwrap(),
                uninterrupted.read(&generations().newest).unwrap(),
                "floor {floor}, torn tail of {torn} bytes"
            );
            assert_eq!(recovered_index(&fs), Some(SAVES));
        }
    }
}

/// A resumed run that appends to its log (after cutting a torn tail) crashed at every
/// step: whatever a power loss leaves, recovery finds an index at least the last durable
/// one, with its state; after a kill, the newest record written.
/// A record that wants a new file while the one before is still syncing is held in memory
/// (up to a bound) instead of waiting for that sync: serializing overlaps with it.
#[test]
fn a_record_waits_in_memory_not_on_the_disk_while_the_file_before_syncs() {
    let fs = SimFs::new(Fault::Healthy);
    let mut journal = Journal::new(generations(), &meta(), 0);
    journal.set_compaction_floor(0);
    journal.set_flush_bytes(8);
    save_range(&fs, &mut journal, 1..=2);
    let syncing = Sink {
        fs: &fs,
        may_start_file: &|| panic!("the loop waited for the disk"),
        file_pending: &|| true,
    };
    journal.begin(false);
    journal.whole(&syncing, &vec![7u8; 4096]).unwrap();
    assert!(
        !journal.streaming(),
        "the record went out while the file before synced"
    );
    // Once that sync is done, the record goes out in frames as usual.
    journal.whole(&Sink::new(&fs), &vec![8u8; 64]).unwrap();
    assert!(journal.streaming());
}

/// A save that fails half-way, after some of its data frames went out, ends them with an
/// abort frame: the log goes on with the next record, and recovery never sees the bytes.
#[test]
fn a_save_that_fails_half_way_is_aborted_and_the_log_goes_on() {
    /// Serializes 100 bytes, then fails.
    struct FailsLate;
    impl serde::Serialize for FailsLate {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{Error as _, SerializeTuple as _};
            let mut tuple = s.serialize_tuple(101)?;
            for byte in 0..100u8 {
                tuple.serialize_element(&byte)?;
            }
            Err(S::Error::custom("this value cannot be saved"))
        }
    }
    let fs = SimFs::new(Fault::Healthy);
    let mut journal = Journal::new(generations(), &meta(), 0);
    journal.set_flush_bytes(8);
    save_range(&fs, &mut journal, 1..=2);
    journal.begin(false);
    assert!(journal.whole(&Sink::new(&fs), &FailsLate).is_err());
    assert!(
        journal.streaming(),
        "no data frame went out before the failure"
    );
    journal.abandon_record(&fs);
    save_range(&fs, &mut journal, 3..=4);
    let log = fs.read(&generations().newest).unwrap().unwrap();
    let scan = crate::format::log::scan(&log).unwrap().unwrap();
    assert_eq!(scan.tail, crate::format::log::Tail::Clean);
    let indexes: Vec<u64> = scan.records.iter().map(|r| r.head.index).collect();
    assert_eq!(indexes, [1, 2, 3, 4]);
    assert_eq!(recovered_index(&fs), Some(4));
}

/// A log an older build wrote (version 2: each record's head before its data) is resumed
/// from, and never appended to: the next record starts a new version-3 file, whole, which
/// takes the log's place and reads back with the records after it.
#[test]
fn a_version_2_log_is_resumed_and_replaced_by_a_version_3_one() {
    let fs = SimFs::new(Fault::Healthy);
    let mut bytes = crate::format::log::header(&meta());
    for index in 1..=3 {
        let (items, text) = state(index);
        let from = state(index - 1).0.len();
        let mut data = Vec::new();
        for item in &items[from..] {
            data.extend_from_slice(&postcard::to_allocvec(item).unwrap());
        }
        let elements = data.len() as u64;
        data.extend_from_slice(&postcard::to_allocvec(&text).unwrap());
        let head = crate::format::log::RecordHead {
            seq: index,
            index,
            saved_at_ms: 0,
            next_item: None,
            parts: vec![
                Part::Extend {
                    from: from as u64,
                    to: items.len() as u64,
                    len: elements,
                },
                Part::Whole {
                    len: data.len() as u64 - elements,
                },
            ],
        };
        let mut framed = Vec::new();
        crate::format::log::frame_record(&head, &mut framed, &mut data);
        bytes.extend_from_slice(&framed);
        bytes.extend_from_slice(&data);
    }
    fs.write(&generations().newest, &bytes).unwrap();
    fs.sync(&generations().newest).unwrap();
    assert_eq!(recovered_index(&fs), Some(3));
    let recovered = recover::recover(&fs, &generations(), LABEL, SHAPE)
        .unwrap()
        .unwrap();
    let mut resumed = Journal::new(generations(), &meta(), recovered.loaded.seq);
    resumed.set_flush_bytes(8);
    resumed
        .resume(&fs, recovered.loaded.log.as_ref().unwrap())
        .unwrap();
    save_range(&fs, &mut resumed, 4..=5);
    let log = fs.read(&generations().newest).unwrap().unwrap();
    let scan = crate::format::log::scan(&log).unwrap().unwrap();
    assert_eq!(scan.version, crate::format::log::FRAMED_VERSION);
    let records: Vec<(u64, u64)> = scan
        .records
        .iter()
        .map(|record| (record.head.seq, record.head.index))
        .collect();
    assert_eq!(
        records,
        [(4, 4), (5, 5)],
        "the new file starts at the next record"
    );
    assert!(
        matches!(scan.records[0].head.parts[0], Part::Extend { from: 0, .. }),
        "the new file's first record holds the sequence from its first element"
    );
    assert_eq!(recovered_index(&fs), Some(5));
}

#[test]
fn a_resumed_run_appending_survives_a_power_loss_or_a_kill_at_every_step() {
    // The first run saves 1..=3, each synced, then dies in the middle of an append.
    let first = SimFs::new(Fault::Healthy);
    save_range(&first, &mut Journal::new(generations(), &meta(), 0), 1..=3);
    first.tear(&generations().newest, &[9; 7]);
    // The second run resumes, reopens the log and saves 4..=SAVES, each synced, until a
    // step fails; the last index made durable.
    let second = |fs: &SimFs| -> u64 {
        let mut durable = 3;
        let _ = (|| {
            let recovered = recover::recover(fs, &generations(), LABEL, SHAPE).ok()??;
            let mut journal = Journal::new(generations(), &meta(), recovered.loaded.seq);
            journal.resume(fs, recovered.loaded.log.as_ref()?).ok()?;
            for index in 4..=SAVES {
                write_state(fs, &mut journal, index, false)
                    .ok()?
                    .run(fs)
                    .ok()?;
                durable = index;
            }
            Some(())
        })();
        durable
    };
    let healthy = first.with_fault(Fault::Healthy);
    assert_eq!(second(&healthy), SAVES);
    assert_eq!(recovered_index(&healthy), Some(SAVES));
    let total_ops = healthy.ops();
    let mut disks = 0;
    for crash_at in 0..=total_ops {
        let fs = first.with_fault(Fault::CrashBefore(crash_at));
        let durable = second(&fs);
        for disk in fs.crash_states() {
            disks += 1;
            let found = recovered_index(&disk);
            assert!(
                found >= Some(durable),
                "crash before op {crash_at}: found {found:?}, but {durable} was durable"
            );
        }
        let killed = recovered_index(&fs.after_kill());
        assert!(killed >= Some(durable), "kill before op {crash_at}");
    }
    assert!(
        disks > total_ops,
        "{disks} disk states for {total_ops} crash points"
    );
}

/// A state saved whole at every checkpoint (changed in place), as the runtime saves it:
/// each record starts a new file once the log is past the floor (`record_wants_new_file`),
/// the job of each runs inline. Returns the last index saved and the most bytes the disk
/// held, or the error of the save that failed.
fn save_in_place(fs: &SimFs, saves: u64) -> (u64, usize, Option<crate::Error>) {
    let meta = LogMeta {
        fingerprint: hash::fingerprint(LABEL, "x"),
        label: LABEL.into(),
        shape: "x".into(),
    };
    let mut journal = Journal::new(generations(), &meta, 0);
    journal.set_compaction_floor(0);
    let (mut saved, mut peak) = (0, 0);
    for index in 1..=saves {
        journal.begin(false);
        journal
            .whole(&Sink::new(fs), &vec![index as u8; 4_000])
            .unwrap();
        let new_file = journal.wants_new_file() || journal.record_wants_new_file();
        let written = journal.write(fs, new_file, index, 0, None, &[]);
        peak = peak.max(fs.used());
        if let Err(err) = written.and_then(|job| job.run(fs)) {
            return (saved, peak, Some(err));
        }
        peak = peak.max(fs.used());
        saved = index;
    }
    (saved, peak, None)
}

/// The state's checkpoint in the log on `fs`: its index and the state's first byte.
fn in_place_checkpoint(fs: &SimFs) -> Option<(u64, u8)> {
    let recovered = recover::recover(fs, &generations(), LABEL, "x").unwrap()?;
    let state: Vec<u8> = recovered.loaded.payload.reader().value().unwrap();
    Some((recovered.loaded.meta.index, state[0]))
}

#[test]
fn a_state_changed_in_place_needs_room_for_two_copies_and_a_full_disk_keeps_the_last() {
    // One checkpoint: the record, its frame and the log's header.
    let one = {
        let fs = SimFs::new(Fault::Healthy);
        save_in_place(&fs, 1);
        fs.used()
    };
    assert!((4_000..4_200).contains(&one), "{one}");
    let fs = SimFs::new(Fault::Full(one * 5 / 2));
    let (saved, peak, failed) = save_in_place(&fs, 30);
    assert!(failed.is_none(), "{failed:?}");
    assert_eq!(saved, 30);
    assert!(
        peak <= 2 * one,
        "the disk held {peak} bytes for checkpoints of {one}"
    );
    assert_eq!(in_place_checkpoint(&fs), Some((30, 30)));

    let fs = SimFs::new(Fault::Full(one * 3 / 2));
    let (saved, _, failed) = save_in_place(&fs, 30);
    assert_eq!(saved, 1);
    match failed {
        Some(crate::Error::NoSpace { needed, .. }) => assert_eq!(needed as usize, one),
        other => panic!("not a full disk: {other:?}"),
    }
    assert_eq!(
        fs.names(),
        vec![generations().newest],
        "a partial file was left"
    );
    assert_eq!(in_place_checkpoint(&fs), Some((1, 1)));
}

/// The same saves crashed at every step: whatever a power loss leaves, recovery finds the
/// state of an index at least the last durable one (every save starts a new log, moves
/// it into place and removes `.prev`); after a kill, at least that too.
#[test]
fn a_state_changed_in_place_survives_a_power_loss_or_a_kill_at_every_step() {
    let total_ops = {
        let fs = SimFs::new(Fault::Healthy);
        save_in_place(&fs, 5);
        fs.ops()
    };
    let mut disks = 0;
    for crash_at in 0..=total_ops {
        let fs = SimFs::new(Fault::CrashBefore(crash_at));
        let (durable, _, _) = save_in_place(&fs, 5);
        let found_on = |disk: &SimFs| match in_place_checkpoint(disk) {
            Some((index, byte)) => {
                assert_eq!(byte, index as u8, "crash before op {crash_at}: wrong state");
                index
            }
            None => 0,
        };
        for disk in fs.crash_states() {
            disks += 1;
            let found = found_on(&disk);
            assert!(
                found >= durable,
                "crash before op {crash_at}: found {found}, but {durable} was durable \
                 (names {:?})",
                disk.names()
            );
        }
        assert!(
            found_on(&fs.after_kill()) >= durable,
            "kill before op {crash_at}"
        );
    }
    assert!(
        disks > total_ops,
        "{disks} disk states for {total_ops} crash points"
    );
}

/// Every truncation and every single-bit flip of the newest log: recovery loads a state
/// that was saved (an earlier record, or the previous generation), or refuses with an
/// error naming the file. Never a panic, never a state other than one that was saved, and
/// damage is kept on disk. A flip before the log's last record is damage, never taken for
/// a crash's torn tail: recovery keeps the file's bytes aside, as they were.
#[test]
fn corruption_sweep_of_a_real_log_loads_a_saved_state_or_errs() {
    let template = SimFs::new(Fault::Healthy);
    save_all(&template, Schedule::EachRecord);
    let compacted = template.read(&generations().newest).unwrap().unwrap();
    let mut damaged: Vec<(Vec<u8>, bool)> = Vec::new();
    // The log the run leaves (compacted), and one that holds every record.
    for newest in [compacted, uncompacted_log()] {
        let scan = log::scan(&newest[..]).unwrap().ok().unwrap();
        // From the first record to the start of the last one.
        let before_last = scan.records_start..scan.records[scan.records.len() - 2].end;
        damaged.extend((0..newest.len()).map(|len| (newest[..len].to_vec(), false)));
        for bit in 0..newest.len() * 8 {
            let mut flipped = newest.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            damaged.push((flipped, before_last.contains(&(bit as u64 / 8))));
        }
    }
    for (case, (bytes, must_be_damage)) in damaged.iter().enumerate() {
        for keep_previous in [true, false] {
            let fs = SimFs::new(Fault::Healthy);
            let mut previous = None;
            save_all_keeping(&fs, Schedule::EachRecord, Some(&mut previous));
            assert!(
                fs.read(&generations().previous).unwrap().is_none(),
                "`.prev` outlived the compaction"
            );
            if keep_previous {
                let previous = previous.as_ref().expect("save_all compacts");
                fs.write(&generations().previous, previous).unwrap();
            }
            fs.write(&generations().newest, bytes).unwrap();
            match load_noting_damage(&fs) {
                Ok(Some((index, value, aside))) => {
                    assert_eq!(value, state(index), "case {case}");
                    if *must_be_damage {
                        let aside = aside.unwrap_or_else(|| {
                            panic!("case {case}: damage before the last record unnoticed")
                        });
                        let kept = fs.read(&aside).unwrap();
                        assert_eq!(kept.as_ref(), Some(bytes), "case {case}: not kept as was");
                    }
                }
                Ok(None) => panic!("case {case}: a checkpoint vanished"),
                Err(err) => {
                    assert!(err.to_string().contains("job.ckpt"), "case {case}: {err}");
                    assert!(!keep_previous, "case {case}: no fallback: {err}");
                }
            }
        }
    }
    eprintln!(
        "{} damaged logs, each with and without a previous generation",
        damaged.len()
    );
}
