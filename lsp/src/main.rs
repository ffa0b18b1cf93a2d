//! `koalja-lsp` over stdio, as editors start it.

use tower_lsp_server::Server;

/// See the workspace Cargo.toml for why; `benches/latency.rs` uses the same.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().nth(1).is_some_and(|arg| arg == "--version") {
        println!("koalja-lsp {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let (service, socket) = koalja_lsp::service();
    // Requests wait on the blocking pool (server.rs), each holding one of
    // these places until answered; VS Code asks half a dozen after each
    // keystroke, and the default of 4 would queue the next didChange behind
    // them.
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket).concurrency_level(32).serve(service).await;
}
