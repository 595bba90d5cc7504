//! Link flags of the cdylib.

fn main() {
    // `deno run --watch` replaces the isolate that opened the library and
    // may `dlclose` it, while servers it started live on (their sockets are
    // handed to the reloaded module, `src/handover.rs`) and their threads
    // still run its code: the library must never be unmapped.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
}
