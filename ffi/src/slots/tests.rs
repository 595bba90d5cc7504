//! The slot protocol's unit tests: ownership, generations, events.

use super::*;
use std::time::Duration;

fn ok() -> http::Response<Body> {
    http::Response::new(crate::body::empty())
}

/// Takes a slot and hands it to JavaScript, as `dispatch::publish` does.
fn published(slots: &Slots) -> (u32, u32) {
    let id = slots.acquire().unwrap();
    assert!(slots.begin_waiting(id));
    slots.publish(id);
    (id, slots.cell(id).generation.load(Ordering::Relaxed))
}

/// The drain array's pairs after a drain of up to `max`.
fn drained(slots: &Slots, max: u32) -> Vec<(u32, u32)> {
    let n = slots.drain(max) as usize;
    (0..n)
        .map(|i| {
            (
                slots.drain_ids[2 * i].load(Ordering::Relaxed),
                slots.drain_ids[2 * i + 1].load(Ordering::Relaxed),
            )
        })
        .collect()
}

#[test]
fn acquire_release_cycles_every_slot() {
    let slots = Slots::new(4, 128, 64);
    let ids: Vec<u32> = (0..4).map(|_| slots.acquire().unwrap()).collect();
    assert!(slots.acquire().is_none());
    assert_eq!(slots.in_use(), 4);
    for id in ids {
        slots.task_done(id);
    }
    assert_eq!(slots.in_use(), 0);
}

#[test]
fn drain_copies_ready_ids_and_generations_in_order() {
    let slots = Slots::new(8, 128, 64);
    let a = published(&slots);
    let b = published(&slots);
    let c = published(&slots);
    assert_eq!(drained(&slots, 2), vec![a, b]);
    assert_eq!(drained(&slots, 8), vec![c]);
}

#[test]
fn a_slot_is_freed_only_after_both_holders_let_go() {
    let slots = Slots::new(1, 128, 64);
    let (id, generation) = published(&slots);
    assert_eq!(drained(&slots, 1), vec![(id, generation)]);
    // The client leaves while the handler runs: the slot stays taken.
    slots.task_done(id);
    assert!(
        slots.acquire().is_none(),
        "reused while JavaScript holds it"
    );
    // JavaScript is told, and its release frees the slot.
    assert_eq!(drained(&slots, 1), vec![(id | CANCELLED, generation)]);
    assert!(!slots.commit(id, generation, ok), "nobody waits for it");
    assert_eq!(slots.in_use(), 0);
    let again = slots.acquire().unwrap();
    assert_eq!(again, id);
    assert_eq!(
        slots.cell(id).generation.load(Ordering::Relaxed),
        generation + 1
    );
    // A second release of the old pair changes nothing.
    assert!(!slots.commit(id, generation, ok));
    assert_eq!(slots.in_use(), 1);
}

#[test]
fn a_committed_answer_frees_the_slot_when_the_task_takes_it() {
    let slots = Slots::new(1, 128, 64);
    let (id, generation) = published(&slots);
    drained(&slots, 1);
    assert!(slots.commit(id, generation, ok));
    assert!(slots.acquire().is_none(), "the task has not taken it yet");
    *slots.cell(id).answer.lock() = Answer::Idle; // the task takes it
    slots.task_done(id);
    assert_eq!(slots.in_use(), 0);
    assert!(
        drained(&slots, 1).is_empty(),
        "no cancel for an answered request"
    );
}

#[test]
fn a_request_over_before_it_was_drained_is_never_handed_to_javascript() {
    let slots = Slots::new(2, 128, 64);
    let (a, _) = published(&slots);
    slots.task_done(a); // client A left while JavaScript was busy
    let (b, b_generation) = published(&slots);
    assert_ne!(a, b, "A's slot is not free until the drain lets go of it");
    let entries = drained(&slots, 2);
    // A's cancel (ignored by JavaScript, which never saw A) and B once.
    assert_eq!(entries.iter().filter(|e| e.0 & CANCELLED == 0).count(), 1);
    assert!(entries.contains(&(b, b_generation)));
    assert_eq!(slots.in_use(), 1);
}

#[test]
fn a_timed_out_request_is_cancelled_and_its_late_answer_dropped() {
    let slots = Slots::new(1, 128, 64);
    let (id, generation) = published(&slots);
    drained(&slots, 1);
    let timeout = || crate::response::unavailable("late");
    assert!(slots.answer_if_older(id, 100, 50, timeout));
    *slots.cell(id).answer.lock() = Answer::Idle; // the task takes the 504
    slots.task_done(id);
    assert_eq!(drained(&slots, 1), vec![(id | CANCELLED, generation)]);
    assert!(
        !slots.commit(id, generation, ok),
        "the late answer is dropped"
    );
    assert_eq!(slots.in_use(), 0);
}

#[test]
fn stale_pairs_are_refused_for_set_body_and_overflow() {
    let slots = Slots::new(1, 128, 64);
    let (id, generation) = published(&slots);
    assert!(slots.held_by_js(id, generation));
    assert!(!slots.held_by_js(id, generation + 1));
    assert!(!slots.held_by_js(7, generation));
}

#[test]
fn concurrent_abandon_and_commit_free_each_slot_exactly_once() {
    let slots = std::sync::Arc::new(Slots::new(8, 128, 64));
    for round in 0..2000u32 {
        let (id, generation) = published(&slots);
        drained(&slots, 8);
        let s2 = slots.clone();
        let leave = round % 2 == 0;
        let task = std::thread::spawn(move || {
            if leave {
                s2.task_done(id);
            } else {
                for _ in 0..1000 {
                    if !matches!(*s2.cell(id).answer.lock(), Answer::Waiting(_)) {
                        break;
                    }
                    std::thread::yield_now();
                }
                s2.task_done(id);
            }
        });
        slots.commit(id, generation, ok);
        task.join().unwrap();
        // Whatever the interleaving, a cancel entry may remain; the
        // slot is free exactly once.
        drained(&slots, 8);
        assert_eq!(slots.in_use(), 0, "round {round}");
        assert_eq!(slots.free.lock().len(), 8, "round {round}");
    }
}

fn status(slots: &Slots, id: u32) -> Option<http::StatusCode> {
    match &*slots.cell(id).answer.lock() {
        Answer::Ready(response) => Some(response.status()),
        _ => None,
    }
}

#[test]
fn expire_answers_waiting_slots_and_refuses_later_ones() {
    let slots = Slots::new(4, 128, 64);
    let (waiting, waiting_generation) = published(&slots);
    let (answered, generation) = published(&slots);
    drained(&slots, 4);
    assert!(slots.commit(answered, generation, ok));
    let idle = slots.acquire().unwrap();
    let unavailable = || crate::response::unavailable("closing");
    assert_eq!(slots.expire(unavailable), 1);
    assert_eq!(
        status(&slots, waiting),
        Some(http::StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(status(&slots, answered), Some(http::StatusCode::OK));
    assert_eq!(status(&slots, idle), None);
    // A request published after `expire` is not handed to JavaScript.
    assert!(!slots.begin_waiting(idle));
    assert!(matches!(*slots.cell(idle).answer.lock(), Answer::Idle));
    // The expired request's task takes its 503; JavaScript is told, and
    // its late commit only releases the slot.
    *slots.cell(waiting).answer.lock() = Answer::Idle;
    slots.task_done(waiting);
    assert_eq!(
        drained(&slots, 4),
        vec![(waiting | CANCELLED, waiting_generation)]
    );
    assert!(!slots.commit(waiting, waiting_generation, ok));
}

#[test]
fn park_wakes_on_publish_and_close() {
    let slots = std::sync::Arc::new(Slots::new(2, 128, 64));
    let s2 = slots.clone();
    let t = std::thread::spawn(move || s2.park(Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(20));
    published(&slots);
    assert!(matches!(t.join().unwrap(), Woken::Ready));
    assert!(matches!(slots.park(Duration::from_millis(1)), Woken::Ready));
    slots.drain(2);
    assert!(matches!(
        slots.park(Duration::from_millis(1)),
        Woken::TimedOut
    ));
    slots.close();
    assert!(matches!(slots.park(Duration::from_secs(5)), Woken::Closed));
}
