//! The agent's view of the graph IR: the parts of `koaljac`'s IR JSON that a
//! run needs, read with serde. The compiler's `Ir` is the one definition of
//! that JSON; this module only reads it (the agent does not link the
//! compiler, which keeps the static binary small), and a compiler test reads
//! every example's IR through `Plan::from_ir_json` so the two cannot drift.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::GATEWAY;

/// The IR versions this agent understands.
pub const IR_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    AllNew,
    SwapNewForOld,
    SlidingWindow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launch {
    Auto,
    Restart,
    Custom,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "kebab-case")]
pub enum Firing {
    Count { min: u64, max: u64 },
    Window { size: u64, slide: u64 },
    Service,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arg {
    Literal(String),
    Wire(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Run {
    Command { args: Vec<Arg>, append_wire_paths: bool },
    Shell(String),
}

/// Which payloads an agent keeps once they are no longer needed (`keep:`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Every payload (no `keep:`).
    #[default]
    All,
    /// The newest N of each wire.
    Newest(u64),
    /// Those younger than this many milliseconds.
    WithinMs(u64),
}

/// What a wire's payload is on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadKind {
    File,
    Dir,
    Service,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub namespace: String,
    pub name: String,
    /// The name as Kubernetes objects carry it (from the compiler).
    pub kubernetes_name: String,
    pub tasks: Vec<TaskPlan>,
    /// Wires fed by file drops (through the gateway), in IR order.
    pub pipeline_inputs: Vec<String>,
    /// Wires that leave the pipeline (collected by the gateway), in IR order.
    pub pipeline_outputs: Vec<String>,
    pub wire_kinds: BTreeMap<String, PayloadKind>,
    /// The gateways' retention (from `defaults`).
    pub gateway_keep: Keep,
    /// The main gateway first, then one per region (the compiler decides).
    pub gateways: Vec<GatewayPlan>,
    /// Wires of an `export` type: the only ones that may leave their region.
    pub exported: std::collections::BTreeSet<String>,
}

/// One gateway: the pipeline inputs dropped into it and the outputs it
/// collects, kept in its region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayPlan {
    pub region: Option<String>,
    /// Its agent's name (`gateway`, `gateway-<region>`), and its objects'
    /// suffix.
    pub kubernetes_name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskPlan {
    pub name: String,
    /// The name as Kubernetes objects carry it (from the compiler).
    pub kubernetes_name: String,
    pub image: Option<String>,
    pub run: Run,
    /// A `shell` run split at its `{wire}` placeholders (by the compiler).
    pub shell_template: Option<Vec<Arg>>,
    pub policy: Policy,
    pub launch: Launch,
    pub service_port: Option<u16>,
    pub env: BTreeMap<String, String>,
    pub timeout_ms: Option<u64>,
    pub retries: u32,
    pub keep: Keep,
    pub region: Option<String>,
    /// `sha256:…` of image, run and environment (recorded with every run).
    pub digest: String,
    pub inputs: Vec<InputPlan>,
    pub outputs: Vec<OutputPlan>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputPlan {
    /// The name in commands (a merge's first member).
    pub name: String,
    /// One wire, or a merge's members.
    pub wires: Vec<String>,
    pub firing: Firing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPlan {
    pub wire: String,
    pub kind: PayloadKind,
}

impl InputPlan {
    pub fn is_service(&self) -> bool {
        self.firing == Firing::Service
    }
}

impl TaskPlan {
    /// The task is long-running: it offers a service or asks to be restarted
    /// by each new snapshot.
    pub fn is_long_running(&self) -> bool {
        self.service_port.is_some() || self.launch == Launch::Restart
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct PlanError(pub String);

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

// The IR JSON as written by the compiler (only the fields read here).

#[derive(Deserialize)]
struct IrJson {
    ir_version: u32,
    namespace: String,
    name: String,
    kubernetes_name: String,
    has_errors: bool,
    #[serde(default)]
    types: Vec<TypeJson>,
    #[serde(default)]
    gateway: StorageJson,
    /// Absent in an IR from before regional gateways: one main gateway.
    gateways: Option<Vec<GatewayPlan>>,
    nodes: Vec<NodeJson>,
    edges: Vec<EdgeJson>,
}

/// `keep` is `null` (or absent, in an IR from before retention) for "all".
#[derive(Default, Deserialize)]
struct StorageJson {
    keep: Option<Keep>,
}

#[derive(Deserialize)]
struct TypeJson {
    name: String,
    kind: PayloadKind,
    #[serde(default)]
    export: bool,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum NodeJson {
    Task(Box<TaskJson>),
    Input { wire: String },
    Output { wire: String },
    Error {},
}

#[derive(Deserialize)]
struct TaskJson {
    name: String,
    kubernetes_name: String,
    image: Option<String>,
    run: Option<Run>,
    policy: Policy,
    launch: Launch,
    service_port: Option<u16>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    retries: u32,
    #[serde(default)]
    keep: Option<Keep>,
    #[serde(default)]
    region: Option<String>,
    digest: String,
    contract: ContractJson,
}

#[derive(Deserialize)]
struct ContractJson {
    inputs: Vec<InputJson>,
    outputs: Vec<OutputJson>,
    shell: Option<Vec<Arg>>,
}

#[derive(Deserialize)]
struct InputJson {
    name: String,
    wires: Vec<String>,
    firing: Firing,
}

#[derive(Deserialize)]
struct OutputJson {
    wire: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Deserialize)]
struct EdgeJson {
    wire: String,
    #[serde(rename = "type")]
    ty: String,
}

impl Plan {
    /// Reads the IR JSON that `koaljac check --emit ir` prints and the
    /// manifests carry. Refuses an IR with errors or of another version.
    pub fn from_ir_json(text: &[u8]) -> Result<Plan, PlanError> {
        let ir: IrJson =
            serde_json::from_slice(text).map_err(|error| PlanError(format!("the IR is not valid IR JSON: {error}")))?;
        if ir.ir_version != IR_VERSION {
            return Err(PlanError(format!(
                "the IR has version {}, this agent reads version {IR_VERSION}; use a matching koaljac and agent",
                ir.ir_version
            )));
        }
        if ir.has_errors {
            return Err(PlanError("the pipeline has errors; run `koaljac check` on it".to_owned()));
        }
        let declared: BTreeMap<&str, PayloadKind> = ir.types.iter().map(|t| (t.name.as_str(), t.kind)).collect();
        let kind_of = |ty: &str| match declared.get(ty) {
            Some(kind) => *kind,
            None if ty == "dir" => PayloadKind::Dir,
            None if ty == "service" => PayloadKind::Service,
            None => PayloadKind::File,
        };
        let wire_kinds = ir.edges.iter().map(|edge| (edge.wire.clone(), kind_of(&edge.ty))).collect();
        let exported_types: std::collections::BTreeSet<&str> =
            ir.types.iter().filter(|t| t.export).map(|t| t.name.as_str()).collect();
        let exported =
            ir.edges.iter().filter(|edge| exported_types.contains(edge.ty.as_str())).map(|e| e.wire.clone()).collect();
        let mut plan = Plan {
            namespace: ir.namespace,
            name: ir.name,
            kubernetes_name: ir.kubernetes_name,
            tasks: Vec::new(),
            pipeline_inputs: Vec::new(),
            pipeline_outputs: Vec::new(),
            wire_kinds,
            gateway_keep: ir.gateway.keep.unwrap_or_default(),
            gateways: Vec::new(),
            exported,
        };
        for node in ir.nodes {
            match node {
                NodeJson::Task(task) => {
                    let task = *task;
                    let Some(run) = task.run else {
                        return Err(PlanError(format!("task `{}` has neither `command` nor `shell`", task.name)));
                    };
                    let outputs = task
                        .contract
                        .outputs
                        .into_iter()
                        .map(|output| OutputPlan { kind: kind_of(&output.ty), wire: output.wire })
                        .collect();
                    let inputs = task
                        .contract
                        .inputs
                        .into_iter()
                        .map(|input| InputPlan { name: input.name, wires: input.wires, firing: input.firing })
                        .collect();
                    plan.tasks.push(TaskPlan {
                        name: task.name,
                        kubernetes_name: task.kubernetes_name,
                        image: task.image,
                        run,
                        shell_template: task.contract.shell,
                        policy: task.policy,
                        launch: task.launch,
                        service_port: task.service_port,
                        env: task.env,
                        timeout_ms: task.timeout_ms,
                        retries: task.retries,
                        keep: task.keep.unwrap_or_default(),
                        region: task.region,
                        digest: task.digest,
                        inputs,
                        outputs,
                    });
                }
                NodeJson::Input { wire } => plan.pipeline_inputs.push(wire),
                NodeJson::Output { wire } => plan.pipeline_outputs.push(wire),
                NodeJson::Error {} => {}
            }
        }
        plan.gateways = ir.gateways.unwrap_or_else(|| {
            vec![GatewayPlan {
                region: None,
                kubernetes_name: GATEWAY.to_owned(),
                inputs: plan.pipeline_inputs.clone(),
                outputs: plan.pipeline_outputs.clone(),
            }]
        });
        Ok(plan)
    }

    pub fn task(&self, name: &str) -> Option<&TaskPlan> {
        self.tasks.iter().find(|task| task.name == name)
    }

    /// The task that produces `wire`, or `None` for a pipeline input.
    pub fn producer(&self, wire: &str) -> Option<&TaskPlan> {
        self.tasks.iter().find(|task| task.outputs.iter().any(|output| output.wire == wire))
    }

    /// The tasks (by name) and the gateway that take `wire`'s payloads: a
    /// producer may remove one only after each has taken it.
    pub fn consumers(&self, wire: &str) -> Vec<&str> {
        let mut consumers: Vec<&str> = self
            .tasks
            .iter()
            .filter(|task| task.inputs.iter().any(|input| input.wires.iter().any(|w| w == wire)))
            .map(|task| task.name.as_str())
            .collect();
        if let Some(gateway) = self.gateways.iter().find(|g| g.outputs.iter().any(|w| w == wire)) {
            consumers.push(&gateway.kubernetes_name);
        }
        consumers
    }

    /// The gateway that takes drops into pipeline input `wire`, or collects
    /// pipeline output `wire`.
    pub fn gateway_of(&self, wire: &str) -> Option<&GatewayPlan> {
        self.gateways.iter().find(|g| g.inputs.iter().chain(&g.outputs).any(|w| w == wire))
    }

    /// The agent that produces `wire`: its task, or its gateway.
    pub fn producer_name(&self, wire: &str) -> &str {
        match self.producer(wire) {
            Some(task) => &task.name,
            None => self.gateway_of(wire).map_or(GATEWAY, |g| g.kubernetes_name.as_str()),
        }
    }

    /// The region of agent `agent` (a task, or a gateway), if it has one.
    pub fn region_of_agent(&self, agent: &str) -> Option<&str> {
        match self.task(agent) {
            Some(task) => task.region.as_deref(),
            None => self.gateways.iter().find(|g| g.kubernetes_name == agent).and_then(|g| g.region.as_deref()),
        }
    }

    /// The region `wire`'s data belong to: its producer's, or for a
    /// pipeline input its gateway's (its consumers').
    pub fn region_of_wire(&self, wire: &str) -> Option<&str> {
        match self.producer(wire) {
            Some(task) => task.region.as_deref(),
            None => self.gateway_of(wire).and_then(|g| g.region.as_deref()),
        }
    }

    pub fn kind(&self, wire: &str) -> PayloadKind {
        self.wire_kinds.get(wire).copied().unwrap_or(PayloadKind::File)
    }
}
