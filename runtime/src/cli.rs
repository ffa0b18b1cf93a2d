//! The `koalja-agent` command line, in the library so that `koaljac build`'s
//! tests can parse the exact commands it puts into pods (the contract in
//! ARCHITECTURE.md). Exit codes: 0 stopped cleanly (SIGTERM), 64 a fault of
//! the agent itself (unreadable IR, state it cannot write, a port it cannot
//! bind); the user code's failures are recorded runs, never an agent exit.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::agent::{Agent, AgentError, Progress};
use crate::auth::Credential;
use crate::link::{ClusterPeers, Link};
use crate::plan::Plan;

/// The link port of every agent and of the gateway.
pub const LINK_PORT: u16 = 7400;
pub const EXIT_AGENT_FAULT: u8 = 64;

#[derive(Parser, Debug)]
#[command(name = "koalja-agent", version, about = "The Koalja runtime agent")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Copy this binary to DEST (the init container of every task pod).
    Install { dest: PathBuf },
    /// Run one task's agent: pull inputs, run the code, serve outputs.
    Task {
        /// The task this agent runs, as named in the pipeline.
        #[arg(long)]
        task: String,
        #[command(flatten)]
        agent: AgentArgs,
    },
    /// Run a gateway: file drops into pipeline inputs, outputs, provenance.
    Gateway {
        /// The region whose gateway this is (its pipeline inputs and
        /// outputs); without it, the main gateway.
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        agent: AgentArgs,
    },
}

/// What every agent is started with.
#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// The IR JSON (`ir.json`, joined with `ir.json.1`, … when split).
    #[arg(long)]
    pub ir: PathBuf,
    /// The agent's durable state directory (a volume in a pod).
    #[arg(long)]
    pub state: PathBuf,
    /// Where the link protocol listens.
    #[arg(long, default_value_t = SocketAddr::from(([0, 0, 0, 0], LINK_PORT)))]
    pub listen: SocketAddr,
    /// Where another agent is, instead of its Service name:
    /// `--peer uniq-lines=http://10.0.0.7:7400` (tests, debugging).
    #[arg(long = "peer", value_name = "AGENT=URL", value_parser = parse_peer)]
    pub peers: Vec<(String, String)>,
    /// The pipeline's link token (the mounted Secret `<pipeline>-token`):
    /// carried by every request this agent sends, asked of every request
    /// it serves but `/healthz`.
    #[arg(long, value_name = "PATH")]
    pub token_file: PathBuf,
    /// On SIGTERM, how long running user code has to finish (it gets
    /// SIGTERM too) before it is killed and its run left for the next start.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::agent::DRAIN_GRACE.as_secs())]
    pub drain_seconds: u64,
}

/// Reads the IR as pods mount it: `ir.json`, then `ir.json.1`, `ir.json.2`…
/// while they exist (a large IR is split over ConfigMaps), gunzipped when
/// the joined bytes start with gzip's magic number.
pub fn read_ir(path: &Path) -> Result<Plan, AgentError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| AgentError(format!("cannot read the IR {}: {e}", path.display())))
    };
    let mut bytes = read(path)?;
    for part in 1.. {
        let next = PathBuf::from(format!("{}.{part}", path.display()));
        if !next.exists() {
            break;
        }
        bytes.extend(read(&next)?);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut text)
            .map_err(|e| AgentError(format!("the IR {} is not valid gzip: {e}", path.display())))?;
        bytes = text;
    }
    Plan::from_ir_json(&bytes).map_err(|e| AgentError(format!("{}: {e}", path.display())))
}

/// Runs a command to the end; `Err` is a fault of the agent.
pub async fn execute(command: Command) -> Result<(), AgentError> {
    match command {
        Command::Install { dest } => install(&dest),
        Command::Task { task, agent: args } => {
            let plan = Arc::new(read_ir(&args.ir)?);
            let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
            let credential = Credential::from_file(&args.token_file).map_err(AgentError)?;
            let progress = Progress::new(jobs, Duration::from_secs(args.drain_seconds));
            let agent = Agent::task(Arc::clone(&plan), &task, args.state.clone(), Arc::clone(&progress))?;
            run_agent(agent, &progress, &plan, args, credential).await
        }
        Command::Gateway { region, agent: args } => {
            let plan = Arc::new(read_ir(&args.ir)?);
            let credential = Credential::from_file(&args.token_file).map_err(AgentError)?;
            let state = &args.state;
            let (dir, out) = (state.join("gateway"), state.join("out"));
            let progress = Progress::new(1, Duration::from_secs(args.drain_seconds));
            let agent =
                Agent::gateway_of_region(Arc::clone(&plan), region.as_deref(), dir, out, Arc::clone(&progress))?;
            run_agent(agent, &progress, &plan, args, credential).await
        }
    }
}

fn parse_peer(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((agent, url)) if !agent.is_empty() && url.starts_with("http://") => {
            Ok((agent.to_owned(), url.trim_end_matches('/').to_owned()))
        }
        _ => Err(format!("`{text}` is not AGENT=http://HOST:PORT")),
    }
}

fn install(dest: &Path) -> Result<(), AgentError> {
    let me = std::env::current_exe().map_err(|e| AgentError(format!("cannot find this binary: {e}")))?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| AgentError(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::copy(&me, dest).map_err(|e| AgentError(format!("cannot copy the agent to {}: {e}", dest.display())))?;
    Ok(())
}

/// Serves the link protocol and runs the agent until SIGTERM or a fault;
/// on SIGTERM it drains (`agent::drain`), serving its outputs meanwhile.
async fn run_agent(
    agent: Arc<Agent>,
    progress: &Progress,
    plan: &Plan,
    args: AgentArgs,
    credential: Credential,
) -> Result<(), AgentError> {
    let listen = args.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| AgentError(format!("cannot listen on {listen}: {e}")))?;
    tracing::info!(agent = %agent.name, %listen, "serving the link protocol");
    let peers = Arc::new(ClusterPeers::new(plan, LINK_PORT, args.peers.into_iter().collect()));
    let mut workers = tokio::task::JoinSet::new();
    agent.start(&mut workers, peers, Link::new(&credential));
    let mut server = tokio::spawn(crate::agent::server::serve(listener, Arc::clone(&agent), credential));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| AgentError(format!("cannot watch for SIGTERM: {e}")))?;
    let result = tokio::select! {
        served = &mut server => match served {
            Ok(served) => served.map_err(|e| AgentError(format!("the link server stopped: {e}"))),
            Err(join) => Err(AgentError(format!("the link server stopped: {join}"))),
        },
        Some(joined) = workers.join_next() => match joined {
            Ok(Err(error)) => Err(error),
            _ => Err(AgentError("an agent task stopped".into())),
        },
        _ = terminate.recv() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    if result.is_ok() {
        tracing::info!(agent = %agent.name, grace_seconds = args.drain_seconds, "stopping on a signal");
    }
    let drained = crate::agent::drain(progress, &mut workers).await;
    server.abort();
    result.and(drained)
}
