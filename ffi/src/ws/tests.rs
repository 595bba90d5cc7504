//! The hub's bookkeeping, without sockets or a runtime: what a socket's
//! index carries must end with its generation.

use super::socket::HELD_BY_JS;
use super::*;
use crate::config::RouteConfig;

/// A hub with one WebSocket route (id 0) and one socket index.
fn hub() -> Hub {
    let route = RouteConfig {
        method: "GET".into(),
        path: "/ws".into(),
        id: 0,
        constant: None,
        schema: None,
        body_limit: None,
        websocket: Some(RouteWs::default()),
    };
    Hub::new(&[route], 1, Arc::new(Slots::new(1, 128, 64))).expect("a WebSocket route")
}

fn subscribers(hub: &Hub, topic: &[u8]) -> Vec<u32> {
    let topics = hub.topics.lock();
    topics
        .get(topic)
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default()
}

#[test]
fn a_subscribe_sent_before_javascript_saw_the_close_does_not_reach_the_next_socket() {
    let hub = hub();
    let first = hub.open(0, 0, 0, 0).expect("a free index");
    hub.closed(&first, 1006, b"");
    // JavaScript had not drained the close event yet: its subscribe arrives
    // after `closed` left every topic, while the socket is still in the table.
    hub.act(SUBSCRIBE, first.index, first.generation, b"room");
    assert_eq!(subscribers(&hub, b"room"), vec![first.index]);
    hub.task_done(&first);
    hub.act(RELEASE, first.index, first.generation, b"");
    assert_eq!(first.holders.load(Ordering::Acquire) & HELD_BY_JS, 0);

    let second = hub.open(0, 0, 0, 0).expect("the index, free again");
    assert_eq!(second.index, first.index);
    assert_ne!(second.generation, first.generation);
    assert!(
        subscribers(&hub, b"room").is_empty(),
        "the new socket inherited its index's old subscription"
    );
}

#[test]
fn a_closed_socket_leaves_its_topics_at_once() {
    let hub = hub();
    let socket = hub.open(0, 0, 0, 0).expect("a free index");
    hub.act(SUBSCRIBE, socket.index, socket.generation, b"room");
    assert_eq!(subscribers(&hub, b"room").len(), 1);
    hub.closed(&socket, 1000, b"");
    assert_eq!(subscribers(&hub, b"room").len(), 0);
}
