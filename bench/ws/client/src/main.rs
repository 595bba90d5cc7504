//! The load client of Ferry's WebSocket benchmark (`bench/ws/run.ts`); wrk
//! cannot speak WebSocket. One thread (a current-thread tokio runtime), to
//! be pinned on its own CPU.
//!
//! ```text
//! ws-client ws-echo PORT [--sockets 256] [--depth 1] [--size 64]
//!     [--warmup 1] [--seconds 5]
//! ws-client ws-broadcast PORT [--sockets 1000] [--window 8] [--size 64]
//!     [--warmup 1] [--seconds 5]
//! ```
//!
//! `ws-echo` opens `--sockets` sockets to `/ws/echo`, each keeping `--depth`
//! messages in flight, and checks every echo. `ws-broadcast` opens
//! `--sockets` subscribers to `/ws/broadcast` and one publisher to
//! `/ws/publish`, whose messages the server sends to every subscriber; the
//! publisher stays at most `--window` messages ahead of the slowest one.
//!
//! Prints JSON lines on stdout: `{"event":"start"}` when counting starts
//! (after `--warmup` seconds of traffic), `{"event":"stop"}` when it stops
//! (the sockets then stay open, idle, for half a second), then the summary. Exits 1 when any error was seen.

mod broadcast;
mod connect;
mod echo;
mod window;

use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::window::Window;

/// Time for the servers' `open` handlers to subscribe the last sockets
/// before the first message is published.
const SETTLE: Duration = Duration::from_millis(300);
/// Time the sockets stay open and idle after the window, for the runner to
/// read the server's counters before any close.
const QUIET: Duration = Duration::from_millis(500);
/// Time allowed for the tasks to return after the window ends.
const FINISH: Duration = Duration::from_secs(10);

struct Options {
    mode: String,
    port: u16,
    sockets: usize,
    depth: usize,
    window: usize,
    size: usize,
    warmup: f64,
    seconds: f64,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mode = args.first().ok_or("missing mode")?.clone();
    if mode != "ws-echo" && mode != "ws-broadcast" {
        return Err(format!("unknown mode {mode:?}"));
    }
    let port = args
        .get(1)
        .and_then(|p| p.parse().ok())
        .ok_or("missing or bad PORT")?;
    let mut o = Options {
        sockets: if mode == "ws-echo" { 256 } else { 1000 },
        mode,
        port,
        depth: 1,
        window: 8,
        size: 64,
        warmup: 1.0,
        seconds: 5.0,
    };
    let mut rest = args[2..].iter();
    while let Some(name) = rest.next() {
        let value = rest.next().ok_or(format!("{name} needs a value"))?;
        let bad = || format!("bad value {value:?} for {name}");
        match name.as_str() {
            "--sockets" => o.sockets = value.parse().map_err(|_| bad())?,
            "--depth" => o.depth = value.parse().map_err(|_| bad())?,
            "--window" => o.window = value.parse().map_err(|_| bad())?,
            "--size" => o.size = value.parse().map_err(|_| bad())?,
            "--warmup" => o.warmup = value.parse().map_err(|_| bad())?,
            "--seconds" => o.seconds = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown option {name}")),
        }
    }
    if o.sockets == 0 || o.depth == 0 || o.window == 0 || o.seconds <= 0.0 || o.warmup < 0.0 {
        return Err("--sockets, --depth, --window and --seconds must be positive".into());
    }
    Ok(o)
}

/// What one run measured.
struct Summary {
    messages: u64,
    published: u64,
    seconds: f64,
    per_socket: Vec<u64>,
}

async fn run(o: &Options, window: Rc<Window>) -> Summary {
    let mut summary = Summary {
        messages: 0,
        published: 0,
        seconds: 0.0,
        per_socket: Vec::new(),
    };
    let path = if o.mode == "ws-echo" {
        "/ws/echo"
    } else {
        "/ws/broadcast"
    };
    // Every socket is open before any traffic, so the handshakes do not
    // compete with the messages of the sockets opened first.
    let mut sockets = Vec::with_capacity(o.sockets);
    for id in 0..o.sockets {
        match connect::open(o.port, path).await {
            Ok(ws) => sockets.push(ws),
            Err(e) => {
                window.error(format!("socket {id}: {e}"));
                window.end();
                window.close();
                return summary;
            }
        }
    }
    let flow = Rc::new(broadcast::Flow::new(o.window));
    let mut tasks: Vec<JoinHandle<u64>> = Vec::with_capacity(o.sockets);
    for (id, ws) in sockets.into_iter().enumerate() {
        let (w, f) = (window.clone(), flow.clone());
        tasks.push(if o.mode == "ws-echo" {
            tokio::task::spawn_local(echo::socket(ws, id, o.depth, o.size, w))
        } else {
            tokio::task::spawn_local(broadcast::subscriber(ws, id, o.size, f, w))
        });
    }
    let mut publisher = None;
    if o.mode == "ws-broadcast" {
        tokio::time::sleep(SETTLE).await;
        match connect::open(o.port, "/ws/publish").await {
            Ok(ws) => {
                let subscribers = o.sockets as u32;
                let task = broadcast::publisher(ws, subscribers, o.size, flow, window.clone());
                publisher = Some(tokio::task::spawn_local(task));
            }
            Err(e) => window.error(format!("publisher: {e}")),
        }
    }
    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    window.start_counting();
    println!("{{\"event\":\"start\"}}");
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(o.seconds)).await;
    summary.seconds = start.elapsed().as_secs_f64();
    window.end();
    println!("{{\"event\":\"stop\"}}");
    tokio::time::sleep(QUIET).await;
    window.close();
    let finished = tokio::time::timeout(FINISH, async {
        for task in tasks {
            summary.per_socket.push(task.await.unwrap_or(0));
        }
        if let Some(task) = publisher {
            summary.published = task.await.unwrap_or(0);
        }
    })
    .await;
    if finished.is_err() {
        window.error(format!("sockets still busy {FINISH:?} after the window"));
    }
    summary.messages = summary.per_socket.iter().sum();
    summary
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ws-client: {e}\nusage: ws-client ws-echo|ws-broadcast PORT [--sockets N] [--depth N] [--window N] [--size BYTES] [--warmup S] [--seconds S]");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let window = Rc::new(Window::new());
    let local = tokio::task::LocalSet::new();
    let s = local.block_on(&runtime, run(&o, window.clone()));
    let samples: Vec<String> = window.samples().iter().map(|e| json_string(e)).collect();
    println!(
        "{{\"event\":\"summary\",\"mode\":{},\"sockets\":{},\"messages\":{},\"published\":{},\
         \"errors\":{},\"errorSamples\":[{}],\"seconds\":{:.4},\"perSocketMin\":{},\
         \"perSocketMax\":{}}}",
        json_string(&o.mode),
        o.sockets,
        s.messages,
        s.published,
        window.errors(),
        samples.join(","),
        s.seconds,
        s.per_socket.iter().min().copied().unwrap_or(0),
        s.per_socket.iter().max().copied().unwrap_or(0),
    );
    std::process::exit(if window.errors() > 0 { 1 } else { 0 });
}
