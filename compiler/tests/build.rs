//! `koaljac build`: objects for every example and clean corpus file pass
//! the official Kubernetes schemas (`kubernetes-validate --strict`); pods
//! meet the restricted Pod Security Standard; network policies admit only
//! the wired edges; a file with errors or a task without an image builds
//! nothing; output is deterministic; snapshots of every example.

#[path = "support/examples.rs"]
mod examples;
#[path = "support/tricky_strings.rs"]
mod tricky_strings;
#[path = "support/validator.rs"]
mod validator;
use examples::example_paths;
use std::path::Path;
use std::process::Command;

use koalja_compiler::analysis::{analyze, analyze_text};
use koalja_compiler::diagnostic::Code;
use koalja_compiler::lower::{build, BuildOptions, Object};
use proptest::prelude::*;
use serde::Deserialize as _;
use serde_json::Value;

/// The objects as JSON values, to look into.
fn values(objects: &[Object]) -> Vec<Value> {
    objects.iter().map(|object| serde_json::to_value(object).unwrap()).collect()
}

fn objects(text: &str) -> Vec<Value> {
    values(&build(&analyze_text(text, "p"), &BuildOptions::default()).expect("builds").objects())
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn snapshots_of_every_example() {
    insta::glob!("../../examples", "*.kja", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let objects = build(&analyze_text(&text, "example"), &BuildOptions::default()).unwrap();
        insta::assert_snapshot!(format!("----- SOURCE CODE\n{text}\n----- MANIFESTS\n{}", objects.to_yaml()));
    });
}

#[test]
fn yaml_reads_back_as_the_objects_json() {
    for path in example_paths() {
        let text = std::fs::read_to_string(&path).unwrap();
        let built = build(&analyze_text(&text, "example"), &BuildOptions::default()).unwrap();
        let documents = read_yaml_stream(&built.to_yaml());
        assert_eq!(documents, values(&built.objects()), "{}", path.display());
    }
}

#[test]
fn every_example_and_clean_corpus_file_passes_kubernetes_validate_strict() {
    let Some(validator) = validator::kubernetes_validate() else { return };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("manifests");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs = example_paths();
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/check/ok");
    inputs.extend(std::fs::read_dir(corpus).unwrap().map(|e| e.unwrap().path()));
    let mut files = Vec::new();
    for path in inputs {
        let bytes = std::fs::read(&path).unwrap();
        let analysis = analyze(&bytes, "corpus");
        // Corpus files may leave out images (fine for a local run).
        let Ok(objects) = build(&analysis, &BuildOptions::default()) else { continue };
        let target = dir.join(format!("{}.yaml", path.file_stem().unwrap().to_string_lossy()));
        std::fs::write(&target, objects.to_yaml()).unwrap();
        files.push(target);
    }
    // An IR split over several ConfigMaps, mounted as one projected volume.
    let split = BuildOptions { max_ir_bytes: 1000, ..BuildOptions::default() };
    let objects = build(&analyze_text(&chain(30), "p"), &split).unwrap();
    assert!(objects.objects().iter().any(|o| o.name() == "p-ir-2"));
    files.push(dir.join("split-ir.yaml"));
    std::fs::write(files.last().unwrap(), objects.to_yaml()).unwrap();
    assert!(files.len() >= 9, "only {} files built", files.len());
    let output = Command::new(&validator).args(["-k", "1.33.0", "--strict"]).args(&files).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    assert!(!report.contains("ERROR"), "{report}");
    assert!(report.matches("passed").count() > 100, "{report}");
}

#[test]
fn every_pod_meets_the_restricted_pod_security_standard() {
    for path in example_paths() {
        let text = std::fs::read_to_string(&path).unwrap();
        for object in objects(&text) {
            let Some(pod) = object["spec"]["template"]["spec"].as_object() else { continue };
            let pod_security = &pod["securityContext"];
            assert_eq!(pod_security["runAsNonRoot"], true);
            assert_eq!(pod_security["seccompProfile"]["type"], "RuntimeDefault");
            let containers = pod["containers"]
                .as_array()
                .unwrap()
                .iter()
                .chain(pod.get("initContainers").and_then(Value::as_array).map(|a| a.iter()).into_iter().flatten());
            for container in containers {
                let security = &container["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{}", path.display());
                assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
                assert!(security.get("privileged").is_none_or(|p| p == false));
            }
        }
    }
}

#[test]
fn the_agent_is_injected_into_each_tasks_own_image() {
    let objects = objects(
        &std::fs::read_to_string(example_paths().into_iter().find(|p| p.ends_with("tfmodel.kja")).unwrap()).unwrap(),
    );
    let convert = find(&objects, "StatefulSet", "tfmodel-convert");
    let pod = &convert["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["image"], "python:3.12-slim");
    assert_eq!(
        pod["containers"][0]["command"],
        serde_json::json!([
            "/koalja/bin/koalja-agent",
            "task",
            "--ir",
            "/etc/koalja/ir.json",
            "--task",
            "convert",
            "--state",
            "/var/lib/koalja",
            "--token-file",
            "/var/run/secrets/koalja/token"
        ])
    );
    // The link token from the Secret deploy makes (no build holds it),
    // read-only and readable by the pod's group only.
    let token = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "token").unwrap();
    assert_eq!(token["secret"]["secretName"], "tfmodel-token");
    assert_eq!(token["secret"]["defaultMode"], 0o440);
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    let mount = mounts.iter().find(|m| m["name"] == "token").unwrap();
    assert_eq!(
        (mount["mountPath"].as_str(), mount["readOnly"].as_bool()),
        (Some("/var/run/secrets/koalja"), Some(true))
    );
    assert!(objects.iter().all(|object| object["kind"] != "Secret"), "a build holds no secret: deploy makes the token");
    assert_eq!(pod["initContainers"][0]["image"], koalja_compiler::lower::default_agent_image());
    assert_eq!(convert["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "state");
    // A service task is a Deployment with a Service on its port.
    let server = find(&objects, "Deployment", "tfmodel-server");
    assert_eq!(server["spec"]["template"]["spec"]["containers"][0]["ports"][1]["containerPort"], 8501);
    let service = find(&objects, "Service", "tfmodel-server");
    assert_eq!(service["spec"]["ports"][1]["port"], 8501);
    // The IR travels in a ConfigMap.
    let ir: Value =
        serde_json::from_str(find(&objects, "ConfigMap", "tfmodel-ir")["data"]["ir.json"].as_str().unwrap()).unwrap();
    assert_eq!(ir["ir_version"], 1);
    // Every object is labelled as part of the pipeline.
    for object in &objects {
        assert_eq!(object["metadata"]["labels"]["app.kubernetes.io/part-of"], "tfmodel");
        assert_eq!(object["metadata"]["labels"]["app.kubernetes.io/managed-by"], "koaljac");
        assert_eq!(object["metadata"]["namespace"], "ml");
    }
}

#[test]
fn network_policies_admit_only_the_wired_edges() {
    let objects = objects(
        &std::fs::read_to_string(example_paths().into_iter().find(|p| p.ends_with("tfmodel.kja")).unwrap()).unwrap(),
    );
    let peers = |name: &str, rule: usize| -> Vec<String> {
        find(&objects, "NetworkPolicy", name)["spec"]["ingress"][rule]["from"]
            .as_array()
            .unwrap()
            .iter()
            .map(|peer| peer["podSelector"]["matchLabels"]["koalja.dev/task"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(peers("tfmodel-learn-tf", 0), ["server", "gateway"]);
    assert_eq!(peers("tfmodel-convert", 0), ["predict", "gateway"]);
    assert_eq!(peers("tfmodel-server", 0), ["gateway"]);
    assert_eq!(peers("tfmodel-server", 1), ["predict"], "only clients reach the service port");
    let deny = find(&objects, "NetworkPolicy", "tfmodel-deny-ingress");
    assert!(deny["spec"].get("ingress").is_none());
}

#[test]
fn regions_become_node_affinity() {
    let objects = objects(
        &std::fs::read_to_string(example_paths().into_iter().find(|p| p.ends_with("sovereign.kja")).unwrap()).unwrap(),
    );
    let terms = &find(&objects, "StatefulSet", "monthly-sales-summarize-ke")["spec"]["template"]["spec"]["affinity"]
        ["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
    assert_eq!(terms[0]["matchExpressions"][0]["key"], "topology.kubernetes.io/region");
    assert_eq!(terms[0]["matchExpressions"][0]["values"], serde_json::json!(["af-east"]));
}

#[test]
fn a_task_without_image_or_a_file_with_errors_builds_nothing() {
    let missing =
        build(&analyze_text("(in) a (out)\ntask a { shell: \"cp {in} {out}\" }\n", "p"), &BuildOptions::default());
    let diagnostics = missing.unwrap_err();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, Code::MissingImage);
    assert_eq!(diagnostics[0].span.start, 0, "points at the task's statement");
    let broken = build(
        &analyze_text("(x) a (out)\ndefaults { image: \"i\" command: [\"a\"] }\n", "p"),
        &BuildOptions::default(),
    );
    assert_eq!(broken.unwrap_err()[0].code, Code::UnproducedWire);
}

#[test]
fn output_is_deterministic_and_json_is_a_list() {
    let text =
        std::fs::read_to_string(example_paths().into_iter().find(|p| p.ends_with("merge.kja")).unwrap()).unwrap();
    let built = || build(&analyze_text(&text, "p"), &BuildOptions::default()).unwrap();
    assert_eq!(built().to_yaml(), built().to_yaml());
    let list: Value = serde_json::from_str(&built().to_json()).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), objects(&text).len());
    // Dependency order: accounts and config before workloads.
    let kinds: Vec<&str> = list["items"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    let first = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(first("ServiceAccount") < first("ConfigMap") && first("ConfigMap") < first("StatefulSet"));
}

/// A linear pipeline of `tasks` tasks.
fn chain(tasks: usize) -> String {
    let mut text = String::from("[big/p]\ndefaults { image: \"i\" command: [\"c\"] }\n(in) t0 (w0)\n");
    for i in 1..tasks {
        text.push_str(&format!("(w{}) t{i} (w{i})\n", i - 1));
    }
    text
}

/// The bytes of ConfigMap `name`'s binary key `key`.
fn binary(objects: &[Value], name: &str, key: &str) -> Vec<u8> {
    let encoded = find(objects, "ConfigMap", name)["binaryData"][key].clone();
    serde_json::from_value::<k8s_openapi::ByteString>(encoded).unwrap().0
}

#[test]
fn a_large_ir_is_compressed_then_split_and_a_too_large_one_refused() {
    use std::io::Read;
    let analysis = analyze_text(&chain(2_000), "p");
    let ir: Value = serde_json::from_str(&koalja_compiler::ir::Ir::from_analysis(&analysis).to_json()).unwrap();
    let large = values(&build(&analysis, &BuildOptions::default()).unwrap().objects());
    assert!(find(&large, "ConfigMap", "p-ir")["data"].is_null());
    let compressed = binary(&large, "p-ir", "ir.json");
    assert!(compressed.len() < koalja_compiler::lower::CONFIG_MAP_LIMIT);
    let mut json = String::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_string(&mut json).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), ir, "the agent reads back the same IR");
    // Same bytes every time (no timestamp in the gzip header).
    let built = build(&analysis, &BuildOptions::default()).unwrap();
    assert_eq!(built.to_yaml(), build(&analysis, &BuildOptions::default()).unwrap().to_yaml());

    // Split over three ConfigMaps that every pod mounts together.
    let split = BuildOptions { max_ir_bytes: compressed.len() / 3 + 1, ..BuildOptions::default() };
    let parts = values(&build(&analysis, &split).unwrap().objects());
    let joined = [
        binary(&parts, "p-ir", "ir.json"),
        binary(&parts, "p-ir-1", "ir.json.1"),
        binary(&parts, "p-ir-2", "ir.json.2"),
    ]
    .concat();
    assert_eq!(joined, compressed);
    assert!(!parts.iter().any(|o| o["metadata"]["name"] == "p-ir-3"));
    let pod = &find(&parts, "StatefulSet", "p-t7")["spec"]["template"]["spec"];
    let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "ir").unwrap();
    let sources: Vec<&str> = volume["projected"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["configMap"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["p-ir", "p-ir-1", "p-ir-2"]);

    let tiny = BuildOptions { max_ir_bytes: compressed.len() / 20, ..BuildOptions::default() };
    let refused = build(&analysis, &tiny).unwrap_err();
    assert_eq!(refused[0].code, Code::IrTooLarge);
    // A small IR stays readable JSON.
    let small_objects = objects(&std::fs::read_to_string(example_paths()[0].clone()).unwrap());
    let ir = small_objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert!(ir["data"]["ir.json"].as_str().unwrap().starts_with("{\"ir_version\":1"));
}

/// The contract with the agent (ARCHITECTURE.md): every command `build` puts
/// into a pod is one the agent's own command line accepts.
#[test]
fn every_pod_command_is_one_the_agent_accepts() {
    use clap::Parser;
    use koalja_agent::cli::{Cli, Command as AgentCommand};
    let mut checked = 0;
    for path in example_paths() {
        let objects = objects(&std::fs::read_to_string(&path).unwrap());
        for object in &objects {
            let pod = &object["spec"]["template"]["spec"];
            let containers = [pod["initContainers"].as_array(), pod["containers"].as_array()];
            for container in containers.into_iter().flatten().flatten() {
                let argv: Vec<String> = container["command"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|word| word.as_str().unwrap().to_owned())
                    .collect();
                let parsed = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{}: {argv:?}: {e}", path.display()));
                if let AgentCommand::Task { task, .. } = &parsed.command {
                    assert_eq!(object["metadata"]["labels"]["koalja.dev/task"], task.as_str(), "{argv:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "pod commands checked: {checked}");
}

/// The agent finds its peers by the Service names `build` gives them,
/// computed from the Kubernetes names the IR carries.
#[test]
fn agents_find_each_other_at_the_services_build_emits() {
    use koalja_agent::link::{ClusterPeers, Peers};
    use koalja_agent::plan::Plan;
    for path in example_paths() {
        let analysis = analyze_text(&std::fs::read_to_string(&path).unwrap(), "example");
        let objects = values(&build(&analysis, &BuildOptions::default()).unwrap().objects());
        let ir = koalja_compiler::ir::Ir::from_analysis(&analysis);
        let plan = Plan::from_ir_json(ir.to_json().as_bytes()).unwrap();
        let peers = ClusterPeers::new(&plan, 7400, Default::default());
        let agents = plan.tasks.iter().map(|t| t.name.as_str()).chain(["gateway"]);
        for agent in agents {
            let url = peers.base_url(agent).unwrap();
            let host = url.trim_start_matches("http://").trim_end_matches(":7400");
            find(&objects, "Service", host);
        }
    }
}

/// Each workload's `koalja.dev/ir-view` annotation, by object name.
#[test]
fn each_region_with_pipeline_data_gets_a_gateway_pinned_there() {
    let objects = objects(
        &std::fs::read_to_string(example_paths().into_iter().find(|p| p.ends_with("sovereign.kja")).unwrap()).unwrap(),
    );
    let region_of = |name: &str| {
        let spec = &find(&objects, "Deployment", name)["spec"]["template"]["spec"];
        let terms = &spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
        let command: Vec<&str> =
            spec["containers"][0]["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let flag = command.iter().position(|a| *a == "--region").map(|i| command[i + 1].to_owned());
        (terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0].as_str().map(str::to_owned), flag)
    };
    // Raw Kenyan sales are dropped into a gateway in af-east, Ghanaian in
    // af-west; the report is collected in eu-north; the main gateway has
    // no region (it only gathers the history).
    for region in ["af-east", "af-west", "eu-north"] {
        let name = format!("monthly-sales-gateway-{region}");
        assert_eq!(region_of(&name), (Some(region.to_owned()), Some(region.to_owned())), "{name}");
        find(&objects, "Service", &name);
        find(&objects, "PersistentVolumeClaim", &name);
    }
    assert_eq!(region_of("monthly-sales-gateway"), (None, None));
    // Each task admits every gateway: a region's collects, the main gathers.
    let from = &find(&objects, "NetworkPolicy", "monthly-sales-aggregate")["spec"]["ingress"][0]["from"];
    let admitted: Vec<&str> = from
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["podSelector"]["matchLabels"]["koalja.dev/task"].as_str().unwrap())
        .collect();
    assert!(admitted.contains(&"gateway-eu-north") && admitted.contains(&"gateway"), "{admitted:?}");
    // A gateway's selector picks its own pods alone.
    let selector = &find(&objects, "Service", "monthly-sales-gateway")["spec"]["selector"];
    assert_eq!(selector["koalja.dev/task"], "gateway");
}

#[test]
fn a_task_named_as_a_regions_gateway_is_refused() {
    let text = "(in) gateway-eu (out)\ntask gateway-eu { image: \"i\" shell: \"cp {in} {out}\" region: \"eu\" }\n";
    let analysis = analyze_text(text, "p");
    let messages: Vec<&str> = analysis.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(messages.contains(&"`gateway-eu` is a reserved task name"), "{messages:?}");
}

fn ir_views(text: &str) -> std::collections::BTreeMap<String, String> {
    objects(text)
        .iter()
        .filter(|o| o["kind"] == "StatefulSet" || o["kind"] == "Deployment")
        .map(|o| {
            let view = o["spec"]["template"]["metadata"]["annotations"][koalja_compiler::lower::IR_VIEW].as_str();
            (
                o["metadata"]["name"].as_str().unwrap().to_owned(),
                view.expect("every pod template has a view").to_owned(),
            )
        })
        .collect()
}

/// The names whose view differs between two builds (or exists in one only).
fn restarted(before: &std::collections::BTreeMap<String, String>, text: &str) -> Vec<String> {
    let after = ir_views(text);
    let mut names: Vec<String> =
        after.iter().filter(|(name, view)| before.get(*name) != Some(view)).map(|(n, _)| n.clone()).collect();
    names.extend(before.keys().filter(|name| !after.contains_key(*name)).cloned());
    names.sort();
    names
}

#[test]
fn a_pod_template_changes_exactly_when_its_agents_view_of_the_ir_does() {
    let base = "[demo/p]\n(in) a (x)\n(x) b (y)\n(y) c (out)\ndefaults { image: \"i\" }\ntask a { command: [\"a\", in, x] }\ntask b { command: [\"b\", x, y] }\ntask c { command: [\"c\", y, out] }\n";
    let views = ir_views(base);
    assert_eq!(views.len(), 4, "three tasks and the gateway");
    // Layout and comments: nothing restarts.
    let relaid = base.replace("(in) a (x)\n", "# the first step\n\n(in)   a   (x)\n");
    assert_eq!(restarted(&views, &relaid), Vec::<String>::new());
    // One task's command: that task alone.
    assert_eq!(restarted(&views, &base.replace("[\"b\", x, y]", "[\"b2\", x, y]")), vec!["p-b"]);
    // A buffer on an input changes its consumer's contract: the consumer.
    assert_eq!(restarted(&views, &base.replace("(y) c (out)", "(y[2]) c (out)")), vec!["p-c"]);
    // A new task: it, and the gateway, which asks every agent for runs.
    let more = format!("{base}(y) d (out2)\ntask d {{ command: [\"d\", y, out2] }}\n");
    assert_eq!(restarted(&views, &more), vec!["p-d", "p-gateway"]);
    // Retention is read by the agent that keeps: that one restarts.
    assert_eq!(restarted(&views, &base.replace("[\"b\", x, y] }", "[\"b\", x, y] keep: 5 }")), vec!["p-b"]);
    let everyone = base.replace("defaults { image: \"i\" }", "defaults { image: \"i\" keep: \"7d\" }");
    assert_eq!(restarted(&views, &everyone), vec!["p-a", "p-b", "p-c", "p-gateway"]);
}

#[test]
fn storage_sizes_the_state_volumes_and_a_services_scratch() {
    let built = objects(
        "(in) a (out)\n(in2) srv (api implicit)\ndefaults { image: \"i\" storage: \"3Gi\" }\ntask a { shell: \"cp {in} {out}\" storage: \"20Gi\" }\ntask srv { command: [\"s\", in2] service: 80 }\n",
    );
    let claim = &find(&built, "StatefulSet", "p-a")["spec"]["volumeClaimTemplates"][0];
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "20Gi");
    assert_eq!(find(&built, "PersistentVolumeClaim", "p-gateway")["spec"]["resources"]["requests"]["storage"], "3Gi");
    let volumes = &find(&built, "Deployment", "p-srv")["spec"]["template"]["spec"]["volumes"];
    let state = volumes.as_array().unwrap().iter().find(|v| v["name"] == "state").unwrap();
    assert_eq!(state["emptyDir"]["sizeLimit"], "3Gi");
    // Without `storage`: the default claim.
    let plain = objects("(in) a (out)\ntask a { image: \"i\" shell: \"cp {in} {out}\" }\n");
    let claim = &find(&plain, "StatefulSet", "p-a")["spec"]["volumeClaimTemplates"][0];
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
}

/// The YAML stream as a YAML 1.1 reader (serde_norway, libyaml's) reads it,
/// document by document.
fn read_yaml_stream(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|document| Value::deserialize(document).unwrap_or_else(|e| panic!("{e}\n{yaml}")))
        .collect()
}

proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 512, ..Default::default() })]

    /// Whatever a user writes in `image`, `env` and `command` comes back
    /// from `build`'s YAML byte for byte: no line break U+0085, U+2028 or
    /// U+2029 folded, no control character refused, no `yes` or `0755`
    /// read as a boolean or a number. (kubectl reads the same stream in
    /// `real_cluster.rs`.)
    #[test]
    fn any_string_in_image_env_or_command_reads_back_from_the_yaml_unchanged(
        image in tricky_strings::tricky_image(),
        env in proptest::collection::vec(tricky_strings::tricky_string(), 1..4),
        args in proptest::collection::vec(tricky_strings::tricky_string(), 1..4),
    ) {
        let text = tricky_strings::pipeline("ns", &image, &env, &args);
        let built = build(&analyze_text(&text, "p"), &BuildOptions::default())
            .unwrap_or_else(|d| panic!("{text:?} does not build: {d:?}"));
        let read = tricky_strings::read_back(&read_yaml_stream(&built.to_yaml()));
        prop_assert_eq!(read, tricky_strings::ReadBack { image, env, command: args });
    }
}
