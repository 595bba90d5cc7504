//! Ferry's native core: a hyper server loaded into Deno with `Deno.dlopen`.
//!
//! Rust accepts connections, parses HTTP, enforces limits and routes. Requests
//! that need TypeScript are written into *slots* of a Rust-owned arena that
//! the JS thread maps once; JS drains ready slots in batches, writes
//! responses in place and commits them in batches. See `docs/crossing.md`.
//!
//! The exported C functions live in [`abi`]; everything else is private.
#![deny(unsafe_op_in_unsafe_fn)]

/// Every Rust allocation of the library (not Deno's) goes through mimalloc:
/// see `Cargo.toml` and docs/crossing.md for the measurement.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod abi;
mod accept_encoding;
mod body;
mod coalesce;
mod config;
mod constant;
mod dispatch;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod golden;
mod handover;
mod layout;
mod listen;
mod local;
mod native;
mod record;
mod response;
mod router;
mod server;
mod slots;
mod statics;
mod stream;
mod validation;
mod watchdog;
mod ws;
