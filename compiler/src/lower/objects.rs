//! The Kubernetes objects of one pipeline, built from the IR. See `mod.rs`
//! for what each is for; this file only assembles them.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    restarts, BuildOptions, IrPayload, Object, AGENT_BINARY, AGENT_PORT, IR_PATH, RUN_AS_USER, STATE_DIR, TOKEN_DIR,
    TOKEN_FILE, TOKEN_KEY,
};
use crate::check::names::kubernetes_name;
use crate::ir::{Ir, Node, TaskNode};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapProjection, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvVar, HTTPGetAction, KeyToPath, NodeAffinity, NodeSelector, NodeSelectorRequirement,
    NodeSelectorTerm, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ProjectedVolumeSource, ResourceRequirements, SeccompProfile,
    SecretVolumeSource, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
    VolumeProjection, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;

/// Every object's pipeline (its Kubernetes name): what `deploy` prunes by
/// and `delete` removes by, with `MANAGED_BY`.
pub const PART_OF: &str = "app.kubernetes.io/part-of";
/// Always `koaljac`: objects of the same name made by hand are never pruned.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// What the object is part of: a task, the gateway, the IR, …
pub const COMPONENT: &str = "app.kubernetes.io/component";
const NAME: &str = "app.kubernetes.io/name";
/// The task (or `gateway`) whose pods an object selects or belongs to.
pub const TASK: &str = "koalja.dev/task";
const REGION_LABEL: &str = "topology.kubernetes.io/region";
const STATE_SIZE: &str = "1Gi";

/// What every object of one build shares.
pub(super) struct Context {
    pub(super) ir: Ir,
    options: BuildOptions,
    namespace: String,
    pipeline: String,
    /// How many ConfigMaps the IR is split over.
    ir_parts: usize,
}

impl Context {
    pub(super) fn new(ir: Ir, options: BuildOptions, ir_parts: usize) -> Context {
        Context {
            namespace: match &options.namespace {
                Some(namespace) => kubernetes_name(namespace).to_string(),
                None => kubernetes_name(&ir.namespace).to_string(),
            },
            pipeline: kubernetes_name(&ir.name).to_string(),
            ir,
            options,
            ir_parts,
        }
    }

    pub(super) fn namespace(&self) -> &str {
        &self.namespace
    }

    pub(super) fn pipeline(&self) -> &str {
        &self.pipeline
    }

    pub(super) fn object_name(&self, suffix: &str) -> String {
        format!("{}-{}", self.pipeline, suffix)
    }

    fn labels(&self, component: &str, task: Option<&str>) -> BTreeMap<String, String> {
        let mut labels = super::pipeline_labels(&self.pipeline);
        labels.insert(COMPONENT.to_owned(), component.to_owned());
        labels.insert(NAME.to_owned(), "koalja".to_owned());
        if let Some(task) = task {
            labels.insert(TASK.to_owned(), task.to_owned());
        }
        labels
    }

    fn metadata(&self, name: String, component: &str, task: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels(component, task)),
            ..ObjectMeta::default()
        }
    }

    /// Selects the pods of one task (or the gateway, with `TASK` "gateway").
    fn selector(&self, task: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(PART_OF.to_owned(), self.pipeline.clone()), (TASK.to_owned(), task.to_owned())])
    }
}

/// The objects of the pipeline as a whole: accounts, the IR, the gateway,
/// the default-deny policy.
pub(super) fn pipeline_objects(context: &Context, payload: IrPayload) -> Vec<Object> {
    let mut objects = Vec::new();
    let mut add = |object: Object| objects.push(object);
    let task_account = context.object_name("task");
    let gateway = context.object_name("gateway");
    add(Object::from(ServiceAccount {
        metadata: context.metadata(task_account, "task", None),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }));
    add(Object::from(ServiceAccount {
        metadata: context.metadata(gateway.clone(), "gateway", None),
        ..ServiceAccount::default()
    }));
    let read = |groups: &[&str], resources: &[&str]| PolicyRule {
        api_groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        verbs: vec!["get".to_owned(), "list".to_owned(), "watch".to_owned()],
        ..PolicyRule::default()
    };
    add(Object::from(Role {
        metadata: context.metadata(gateway.clone(), "gateway", None),
        rules: Some(vec![read(&[""], &["pods"]), read(&["apps"], &["deployments", "statefulsets"])]),
    }));
    add(Object::from(RoleBinding {
        metadata: context.metadata(gateway.clone(), "gateway", None),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: gateway.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: gateway.clone(),
            namespace: Some(context.namespace.clone()),
            ..Subject::default()
        }]),
    }));
    match payload {
        IrPayload::Json(json) => add(Object::from(ConfigMap {
            metadata: context.metadata(ir_config_map(context, 0), "ir", None),
            data: Some(BTreeMap::from([(ir_key(0), json)])),
            ..ConfigMap::default()
        })),
        IrPayload::Gzip(parts) => {
            for (part, bytes) in parts.into_iter().enumerate() {
                add(Object::from(ConfigMap {
                    metadata: context.metadata(ir_config_map(context, part), "ir", None),
                    binary_data: Some(BTreeMap::from([(ir_key(part), k8s_openapi::ByteString(bytes))])),
                    ..ConfigMap::default()
                }));
            }
        }
    }
    for gateway in &context.ir.gateways {
        for object in gateway_objects(context, gateway) {
            add(object);
        }
    }
    add(Object::from(NetworkPolicy {
        metadata: context.metadata(context.object_name("deny-ingress"), "network", None),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(PART_OF.to_owned(), context.pipeline.clone())])),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: None,
            egress: None,
        }),
    }));
    objects
}

/// One gateway's objects: its state claim, its Deployment (pinned to its
/// region, if it has one), its Service and its network policy. They share
/// the main gateway's service account.
fn gateway_objects(context: &Context, gateway: &crate::ir::gateways::Gateway) -> Vec<Object> {
    let label = gateway.kubernetes_name.as_str();
    let name = context.object_name(label);
    let account = context.object_name(crate::ir::gateways::MAIN);
    let size = context.ir.gateway.storage.as_deref();
    let mut command = vec![
        "/koalja-agent".to_owned(),
        "gateway".to_owned(),
        "--ir".to_owned(),
        IR_PATH.to_owned(),
        "--state".to_owned(),
        STATE_DIR.to_owned(),
        "--token-file".to_owned(),
        TOKEN_FILE.to_owned(),
    ];
    if let Some(region) = &gateway.region {
        command.extend(["--region".to_owned(), region.to_string()]);
    }
    let container = Container {
        name: "gateway".to_owned(),
        image: Some(context.options.agent_image.clone()),
        command: Some(command),
        ports: Some(vec![link_port()]),
        volume_mounts: Some(vec![ir_mount(), state_mount(), token_mount()]),
        security_context: Some(container_security()),
        startup_probe: Some(health_probe(STARTUP_PERIOD, STARTUP_FAILURES)),
        readiness_probe: Some(health_probe(READINESS_PERIOD, READINESS_FAILURES)),
        liveness_probe: Some(health_probe(LIVENESS_PERIOD, LIVENESS_FAILURES)),
        termination_message_policy: Some(LAST_WORDS.to_owned()),
        ..Container::default()
    };
    let deployment = Deployment {
        metadata: context.metadata(name.clone(), "gateway", Some(label)),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            // One pod holds the state volume at a time.
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".to_owned()), ..DeploymentStrategy::default() }),
            selector: LabelSelector { match_labels: Some(context.selector(label)), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(context.labels("gateway", Some(label))),
                    annotations: Some(BTreeMap::from([(
                        restarts::IR_VIEW.to_owned(),
                        restarts::gateway_view(&context.ir, gateway),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(account),
                    containers: vec![container],
                    volumes: Some(vec![
                        ir_volume(context),
                        token_volume(context),
                        Volume {
                            name: "state".to_owned(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: name.clone(),
                                ..PersistentVolumeClaimVolumeSource::default()
                            }),
                            ..Volume::default()
                        },
                    ]),
                    affinity: gateway.region.as_deref().map(region_affinity),
                    security_context: Some(pod_security()),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    // A gateway is the pipeline's door: file drops and queries from anyone
    // (who holds the pipeline's token).
    let policy = NetworkPolicy {
        metadata: context.metadata(name.clone(), "gateway", Some(label)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(context.selector(label)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule { ports: Some(vec![policy_port(AGENT_PORT)]), from: None }]),
            egress: None,
        }),
    };
    vec![
        Object::from(state_claim(context, name.clone(), "gateway", None, size)),
        Object::from(deployment),
        Object::from(service(context, name, "gateway", label, None)),
        Object::from(policy),
    ]
}

/// The three objects each task has, made one at a time when the output
/// reaches them (a large build never holds them all).
#[derive(Clone, Copy, Debug)]
pub(super) enum TaskObject {
    /// Who may connect to the task's agent and service.
    NetworkPolicy,
    /// The task's link port (and service port).
    Service,
    /// A StatefulSet for a batch task, a Deployment for a service task.
    Workload,
}

/// A service task: one with an implicit output or a service port.
pub(super) fn is_service(ir: &Ir, index: NodeIndex) -> bool {
    ir.graph.edges_directed(index, Direction::Outgoing).any(|e| e.weight().implicit)
        || matches!(&ir.graph[index], Node::Task(task) if task.settings.service_port.is_some())
}

/// The object `which` of the task at `index`.
pub(super) fn task_object(context: &Context, index: NodeIndex, which: TaskObject) -> Option<Object> {
    let Node::Task(task) = &context.ir.graph[index] else { return None };
    let task_label = kubernetes_name(&task.name).to_string();
    let name = context.object_name(&task_label);
    let is_service = is_service(&context.ir, index);
    let component = if is_service { "service" } else { "task" };
    Some(match which {
        TaskObject::NetworkPolicy => Object::from(network_policy(context, index, task, name, &task_label, component)),
        TaskObject::Service => Object::from(service(context, name, component, &task_label, task.settings.service_port)),
        TaskObject::Workload => {
            let view = restarts::task_view(&context.ir, index);
            let template = pod_template(context, task, &task_label, component, is_service, view);
            let selector =
                LabelSelector { match_labels: Some(context.selector(&task_label)), ..LabelSelector::default() };
            if is_service {
                Object::from(Deployment {
                    metadata: context.metadata(name, component, Some(&task_label)),
                    spec: Some(DeploymentSpec { replicas: Some(1), selector, template, ..DeploymentSpec::default() }),
                    ..Deployment::default()
                })
            } else {
                Object::from(StatefulSet {
                    metadata: context.metadata(name.clone(), component, Some(&task_label)),
                    spec: Some(StatefulSetSpec {
                        replicas: Some(1),
                        service_name: Some(name),
                        selector,
                        template,
                        volume_claim_templates: Some(vec![state_claim(
                            context,
                            "state".to_owned(),
                            component,
                            Some(&task_label),
                            task.settings.storage.storage.as_deref(),
                        )]),
                        ..StatefulSetSpec::default()
                    }),
                    ..StatefulSet::default()
                })
            }
        }
    })
}

/// Consumers of its file outputs pull from its agent; clients of its
/// service call the service port; nobody else gets in.
fn network_policy(
    context: &Context,
    index: NodeIndex,
    task: &TaskNode,
    name: String,
    task_label: &str,
    component: &str,
) -> NetworkPolicy {
    let ir = &context.ir;
    let mut consumers: BTreeSet<String> = BTreeSet::new();
    let mut clients: BTreeSet<String> = BTreeSet::new();
    for edge in ir.graph.edges_directed(index, Direction::Outgoing) {
        if let Node::Task(consumer) = &ir.graph[edge.target()] {
            let label = kubernetes_name(&consumer.name).to_string();
            if edge.weight().implicit {
                clients.insert(label);
            } else {
                consumers.insert(label);
            }
        }
    }
    let peer = |task: &str| NetworkPolicyPeer {
        pod_selector: Some(LabelSelector { match_labels: Some(context.selector(task)), ..LabelSelector::default() }),
        ..NetworkPolicyPeer::default()
    };
    let mut link_peers: Vec<NetworkPolicyPeer> = consumers.iter().map(|c| peer(c)).collect();
    // Every gateway: a region's collects the outputs, the main one gathers
    // the history.
    link_peers.extend(context.ir.gateways.iter().map(|gateway| peer(&gateway.kubernetes_name)));
    let mut ingress =
        vec![NetworkPolicyIngressRule { from: Some(link_peers), ports: Some(vec![policy_port(AGENT_PORT)]) }];
    if let (Some(port), false) = (task.settings.service_port, clients.is_empty()) {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(clients.iter().map(|c| peer(c)).collect()),
            ports: Some(vec![policy_port(i32::from(port))]),
        });
    }
    NetworkPolicy {
        metadata: context.metadata(name, component, Some(task_label)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(context.selector(task_label)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(ingress),
            egress: None,
        }),
    }
}

fn pod_template(
    context: &Context,
    task: &TaskNode,
    task_label: &str,
    component: &str,
    is_service: bool,
    ir_view: String,
) -> PodTemplateSpec {
    let mut env: Vec<EnvVar> = task
        .settings
        .env
        .iter()
        .map(|(name, value)| EnvVar { name: name.to_string(), value: Some(value.to_string()), ..EnvVar::default() })
        .collect();
    for (name, value) in [
        ("KOALJA_NAMESPACE", context.namespace.clone()),
        ("KOALJA_PIPELINE", context.pipeline.clone()),
        ("KOALJA_TASK", task.name.to_string()),
    ] {
        env.push(EnvVar { name: name.to_owned(), value: Some(value), ..EnvVar::default() });
    }
    let mut ports = vec![link_port()];
    if let Some(port) = task.settings.service_port {
        ports.push(ContainerPort {
            name: Some("service".to_owned()),
            container_port: i32::from(port),
            ..ContainerPort::default()
        });
    }
    let requests: BTreeMap<String, Quantity> =
        task.settings.resources.iter().map(|(key, value)| (key.to_string(), Quantity(value.to_string()))).collect();
    let container = Container {
        name: "task".to_owned(),
        image: task.settings.image.as_ref().map(|image| image.to_string()),
        command: Some(vec![
            AGENT_BINARY.to_owned(),
            "task".to_owned(),
            "--ir".to_owned(),
            IR_PATH.to_owned(),
            "--task".to_owned(),
            task.name.to_string(),
            "--state".to_owned(),
            STATE_DIR.to_owned(),
            "--token-file".to_owned(),
            TOKEN_FILE.to_owned(),
        ]),
        env: Some(env),
        ports: Some(ports),
        resources: (!requests.is_empty())
            .then(|| ResourceRequirements { requests: Some(requests), ..ResourceRequirements::default() }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "koalja-bin".to_owned(),
                mount_path: "/koalja/bin".to_owned(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            ir_mount(),
            state_mount(),
            token_mount(),
        ]),
        security_context: Some(container_security()),
        startup_probe: Some(health_probe(STARTUP_PERIOD, STARTUP_FAILURES)),
        readiness_probe: Some(health_probe(READINESS_PERIOD, READINESS_FAILURES)),
        liveness_probe: Some(health_probe(LIVENESS_PERIOD, LIVENESS_FAILURES)),
        termination_message_policy: Some(LAST_WORDS.to_owned()),
        ..Container::default()
    };
    let install = Container {
        name: "install-agent".to_owned(),
        image: Some(context.options.agent_image.clone()),
        command: Some(vec!["/koalja-agent".to_owned(), "install".to_owned(), AGENT_BINARY.to_owned()]),
        volume_mounts: Some(vec![VolumeMount {
            name: "koalja-bin".to_owned(),
            mount_path: "/koalja/bin".to_owned(),
            ..VolumeMount::default()
        }]),
        security_context: Some(container_security()),
        ..Container::default()
    };
    let mut volumes = vec![
        Volume { name: "koalja-bin".to_owned(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() },
        ir_volume(context),
        token_volume(context),
    ];
    if is_service {
        // A service task keeps its agent state for the pod's life only,
        // within its `storage` if it has one (the kubelet evicts beyond it).
        let size_limit = task.settings.storage.storage.as_ref().map(|size| Quantity(size.to_string()));
        volumes.push(Volume {
            name: "state".to_owned(),
            empty_dir: Some(EmptyDirVolumeSource { size_limit, ..EmptyDirVolumeSource::default() }),
            ..Volume::default()
        });
    }
    let affinity = task.settings.region.as_deref().map(region_affinity);
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(context.labels(component, Some(task_label))),
            annotations: Some(BTreeMap::from([(restarts::IR_VIEW.to_owned(), ir_view)])),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(context.object_name("task")),
            automount_service_account_token: Some(false),
            init_containers: Some(vec![install]),
            containers: vec![container],
            volumes: Some(volumes),
            affinity,
            security_context: Some(pod_security()),
            ..PodSpec::default()
        }),
    }
}

/// Only nodes labelled with `region` (`topology.kubernetes.io/region`).
fn region_affinity(region: &str) -> Affinity {
    Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: REGION_LABEL.to_owned(),
                        operator: "In".to_owned(),
                        values: Some(vec![region.to_owned()]),
                    }]),
                    ..NodeSelectorTerm::default()
                }],
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    }
}

fn service(context: &Context, name: String, component: &str, task: &str, service_port: Option<u16>) -> Service {
    let mut ports = vec![ServicePort {
        name: Some("link".to_owned()),
        port: AGENT_PORT,
        target_port: Some(IntOrString::String("link".to_owned())),
        ..ServicePort::default()
    }];
    if let Some(port) = service_port {
        ports.push(ServicePort {
            name: Some("service".to_owned()),
            port: i32::from(port),
            target_port: Some(IntOrString::String("service".to_owned())),
            ..ServicePort::default()
        });
    }
    Service {
        metadata: context.metadata(name, component, Some(task)),
        spec: Some(ServiceSpec {
            selector: Some(context.selector(task)),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A state volume's claim, of `size` (`storage:`) or `STATE_SIZE`.
fn state_claim(
    context: &Context,
    name: String,
    component: &str,
    task: Option<&str>,
    size: Option<&str>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            // A volume claim template carries no namespace of its own.
            namespace: task.map_or_else(|| Some(context.namespace.clone()), |_| None),
            ..context.metadata(name, component, task)
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(size.unwrap_or(STATE_SIZE).to_owned()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

fn link_port() -> ContainerPort {
    ContainerPort { name: Some("link".to_owned()), container_port: AGENT_PORT, ..ContainerPort::default() }
}

// An agent answers `/healthz` on its link port (without the token) once
// its store is open and it serves, so the probes ask it that:
// - startup: opening a large store may take minutes, and liveness must not
//   kill an agent for it (every 2 s, for up to 5 minutes);
// - readiness: every 2 s, so `deploy --wait` sees a started agent within
//   seconds, and out of its Service after 6 s without an answer;
// - liveness: an agent whose HTTP server has not answered for a minute is
//   wedged; restarting it resumes from its claim.
const STARTUP_PERIOD: i32 = 2;
// An agent that fails logs why as its last line; the kubelet then keeps
// that tail as the container's termination message, which `koaljac
// status` shows beside the exit code.
const LAST_WORDS: &str = "FallbackToLogsOnError";
const STARTUP_FAILURES: i32 = 150;
const READINESS_PERIOD: i32 = 2;
const READINESS_FAILURES: i32 = 3;
const LIVENESS_PERIOD: i32 = 10;
const LIVENESS_FAILURES: i32 = 6;

fn health_probe(period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".to_owned()),
            port: IntOrString::String("link".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}

fn policy_port(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".to_owned()),
        ..NetworkPolicyPort::default()
    }
}

/// The ConfigMap of part `part` of the IR: `p-ir`, `p-ir-1`, ….
fn ir_config_map(context: &Context, part: usize) -> String {
    match part {
        0 => context.object_name("ir"),
        _ => context.object_name(&format!("ir-{part}")),
    }
}

/// The file of part `part` of the IR beside `/etc/koalja/ir.json`.
fn ir_key(part: usize) -> String {
    match part {
        0 => "ir.json".to_owned(),
        _ => format!("ir.json.{part}"),
    }
}

/// All parts of the IR in one directory: one ConfigMap as is, several
/// projected together.
fn ir_volume(context: &Context) -> Volume {
    let volume = Volume { name: "ir".to_owned(), ..Volume::default() };
    if context.ir_parts == 1 {
        return Volume {
            config_map: Some(ConfigMapVolumeSource {
                name: ir_config_map(context, 0),
                ..ConfigMapVolumeSource::default()
            }),
            ..volume
        };
    }
    let sources = (0..context.ir_parts)
        .map(|part| VolumeProjection {
            config_map: Some(ConfigMapProjection {
                name: ir_config_map(context, part),
                ..ConfigMapProjection::default()
            }),
            ..VolumeProjection::default()
        })
        .collect();
    Volume {
        projected: Some(ProjectedVolumeSource { sources: Some(sources), ..ProjectedVolumeSource::default() }),
        ..volume
    }
}

fn ir_mount() -> VolumeMount {
    VolumeMount {
        name: "ir".to_owned(),
        mount_path: "/etc/koalja".to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

/// The pipeline's link token, from the Secret `koaljac deploy` creates:
/// readable by the pod's group (`fsGroup`) only.
fn token_volume(context: &Context) -> Volume {
    Volume {
        name: "token".to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(super::token_secret(&context.pipeline)),
            items: Some(vec![KeyToPath { key: TOKEN_KEY.to_owned(), path: TOKEN_KEY.to_owned(), mode: None }]),
            default_mode: Some(0o440),
            optional: Some(false),
        }),
        ..Volume::default()
    }
}

fn token_mount() -> VolumeMount {
    VolumeMount {
        name: "token".to_owned(),
        mount_path: TOKEN_DIR.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

fn state_mount() -> VolumeMount {
    VolumeMount { name: "state".to_owned(), mount_path: STATE_DIR.to_owned(), ..VolumeMount::default() }
}

/// The restricted Pod Security Standard, at pod level.
fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_USER),
        run_as_group: Some(RUN_AS_USER),
        fs_group: Some(RUN_AS_USER),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), ..SeccompProfile::default() }),
        ..PodSecurityContext::default()
    }
}

/// The restricted Pod Security Standard, per container.
fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), ..Capabilities::default() }),
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), ..SeccompProfile::default() }),
        ..SecurityContext::default()
    }
}
