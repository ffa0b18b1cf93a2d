//! The checker against LANGUAGE.md, rule by rule, as fixtures with the
//! expected diagnostics written under the lines they point at (see
//! `support::check`). Each fixture also proves that no other diagnostic
//! appears. Model assertions at the end check what the checker resolved.

mod support;

#[path = "support/examples.rs"]
mod examples;
use examples::example_paths;
use koalja_compiler::analysis::analyze_text;
use koalja_compiler::model::{Firing, Keep, Launch, Policy, Run, WireRole};
use support::check;

#[test]
fn lexer_errors_are_reported_and_skipped() {
    check(
        r#"
(in) clean; (out)
        //^ error[K0002]: `;` is not part of the language
task clean { shell: "grep '\d' {in} > {out}" }
                         //^^ error[K0004]: `\d` is not an escape sequence
task other { image: "abc
                  //^^^^ error[K0003]: this string has no closing quote
                      //^ error[K0005]: expected `,`, `}` or a key, found the end of the file
"#,
    );
}

#[test]
fn header_must_be_first_and_single() {
    check(
        r#"
(in) a (out)
[late]
^^^^^^ error[K0011]: the header must come before the first wiring statement
[again]
^^^^^^^ error[K0010]: a file holds one pipeline, so one header
task a { shell: "cp {in} {out}" }
"#,
    );
}

#[test]
fn header_accepts_colon_separator() {
    check(
        r#"
[team:pipe]
(in) a (out)
task a { shell: "cp {in} {out}" }
"#,
    );
}

#[test]
fn each_broken_statement_is_reported_and_parsing_goes_on() {
    check(
        r#"
(in[10/]) convert (json)
     //^ error[K0005]: expected an integer, found `]`
(json) predict (result
(result) store (out)
^ error[K0005]: expected `)`, `,`, `:`, `implicit` or a name, found `(`
task convert { shell: "conv {in} > {json}" }
task predict { shell: "p {json} > {result}" }
task store { image: "x" command ["a"] }
                              //^ error[K0005]: expected `:`, found `[`
"#,
    );
}

#[test]
fn wire_producers_and_consumers() {
    check(
        r#"
(in) clean (cleaned)
(claned) total (out)
 ^^^^^^ error[K0016]: wire `claned` is consumed but never produced
(in) again (out)
          //^^^ error[K0015]: wire `out` is produced by more than one task
(x, x) dup (y, y)
 ^ error[K0016]: wire `x` is consumed but never produced
  //^ error[K0017]: wire `x` is listed twice in the inputs
             //^ error[K0017]: wire `y` is listed twice in the outputs
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn a_syntax_error_holds_back_only_the_wires_its_skipped_text_could_produce() {
    // `held` could be produced by the statement the parser skipped, so it
    // waits; `stripd` is named nowhere there and is reported as you type.
    check(
        r#"
(in) strip (stripped)
(stripd) count (out)
 ^^^^^^ error[K0016]: wire `stripd` is consumed but never produced
(held) wait (out2)
(out2, ) ( oops held
       //^ error[K0005]: expected a task name, found `(`
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn a_misspelt_input_is_the_typo_not_the_command_that_names_the_right_wire() {
    // K0016 suggests `stripped` for `stripd`; the command's `{stripped}` is
    // not reported as foreign (with "did you mean `stripd`?"), nor `stripd`
    // as never named in it.
    check(
        r#"
(in) strip (stripped)
(stripd) count-lines (out)
 ^^^^^^ error[K0016]: wire `stripd` is consumed but never produced
task strip { shell: "cat {in} > {stripped}" }
task count-lines { shell: "wc -l < {stripped} > {out}" }
"#,
    );
}

#[test]
fn a_name_too_long_says_too_long_with_the_limit() {
    let long = "t".repeat(70);
    let report = koalja_compiler::analysis::analyze_text(
        &format!("[demo/p]\n(in) {long} (out)\ntask {long} {{ shell: \"cat {{in}} > {{out}}\" }}\n"),
        "p",
    );
    let messages: Vec<String> = report.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].starts_with(&format!("task name `{long}` is too long")), "{messages:?}");
    assert!(messages[0].ends_with("72 characters, more than 52"), "{messages:?}");
    let namespace = "n".repeat(64);
    let report = koalja_compiler::analysis::analyze_text(
        &format!("[{namespace}/p]\n(in) t (out)\ntask t {{ shell: \"cat {{in}} > {{out}}\" }}\n"),
        "p",
    );
    let messages: Vec<String> = report.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert_eq!(messages, [format!("namespace `{namespace}` is too long: 64 characters, more than 63")]);
}

#[test]
fn buffer_bounds() {
    check(
        r#"
(in_a[0]) a (x1)
   //^^^ error[K0018]: a buffer takes at least 1 value
(in_b[5-2]) b (x2)
   //^^^^^ error[K0018]: the minimum 5 is larger than the maximum 2
(in_c[2/3]) c (x3)
   //^^^^^ error[K0018]: the window slides 3 positions but holds only 2
(in_d[0/0]) d (x4)
   //^^^^^ error[K0018]: a window holds at least 1 value
(in_e[2000000]) e (x5)
   //^^^^^^^^^ error[K0018]: 2000000 values is more than the limit of 1000000
(in_f[1-1], in_g[3]) f (x6)
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn merge_buffers_and_implicit_merges() {
    check(
        r#"
(in_a[4] + in_b) a (out_a)
   //^^^ error[K0019]: a buffer on a merge goes after its last member
(in_c + in_d[4/2]) b (out_b)
(in_e + in_f implicit) c (out_c)
           //^^^^^^^^ error[K0020]: a merge cannot be implicit
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn types_declarations_and_annotations() {
    check(
        r#"
type csv = file "text/csv"
type csv = file "text/plain"
   //^^^ error[K0022]: type `csv` is already declared
type table = csv
           //^^^ error[K0023]: a type is a `file` or a `dir`, not `csv`
type service = file
   //^^^^^^^ error[K0022]: `service` is built in and cannot be redeclared
(in: cvs) a (x: csv)
   //^^^ error[K0021]: unknown type `cvs`
(x: json) b (y)
  //^^^^ error[K0024]: wire `x` is annotated `json` here
(y: text) c (out)
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn implicit_wires_join_services() {
    check(
        r#"
(in_model) server (lookup implicit)
                        //^^^^^^^^ error[K0034]: task `server` offers a service but declares no port
(in, lookup) predict (out)
   //^^^^^^ error[K0026]: `lookup` is a service, not files
(in, lookup implicit) ok (out2)
(in, missing implicit) bad (out3)
   //^^^^^^^ error[K0026]: no task offers a service `missing`
(in_x) files (notsvc)
(in, notsvc implicit) wrong (out4)
          //^^^^^^^^ error[K0026]: `notsvc` is not a service
(in) typed (t: service)
             //^^^^^^^ error[K0026]: only implicit wires have type `service`, and `t` is not implicit
task server { command: ["serve"] }
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn task_settings_are_validated() {
    check(
        r#"
defaults { service: 80 }
         //^^^^^^^ error[K0035]: `service` cannot be a default
defaults { image: "a" }
^^^^^^^^ error[K0012]: a file has at most one `defaults` block
(in) a (out)
task a {
  imgae: "python"
//^^^^^ error[K0027]: unknown key `imgae` in a task block
  image: 5
       //^ error[K0029]: `image` takes a string, not an integer
  shell: "cp {in} {out}"
  command: ["cp", in, out]
         //^^^^^^^^^^^^^^^ error[K0031]: a task runs either a `command` or a `shell`, not both
  policy: all-nwe
        //^^^^^^^ error[K0030]: `all-nwe` is not a policy value
  launch: "auto"
        //^^^^^^ error[K0029]: `launch` takes one of `auto`, `restart`, `custom`, not a string
  retries: 500
         //^^^ error[K0029]: 500 retries is more than the limit of 100
  retries: 1
//^^^^^^^ error[K0028]: `retries` is set twice
  timeout: "5 minutes"
         //^^^^^^^^^^^ error[K0029]: `5 minutes` is not a duration
  env: { A: "x", B: 2 }
                  //^ error[K0029]: `env` values are strings, not an integer
  resources: { cpu: "500m", memory: "1GB", gpu: "1" }
                                  //^^^^^ error[K0029]: `1GB` is not a Kubernetes quantity
                                         //^^^ error[K0027]: unknown key `gpu` in a `resources` map
  region: "eu north"
        //^^^^^^^^^^ error[K0029]: `eu north` cannot be a region
  service: 70000
         //^^^^^ error[K0029]: 70000 is not a port
}
task b { shell: "true" }
   //^ warning[K0051]: task `b` is defined but no wiring statement uses it
"#,
    );
}

#[test]
fn keep_and_storage_take_counts_durations_and_volume_sizes() {
    check(
        r#"
(in) a (out)
(out) b (final)
(final) c (last)
task a {
  shell: "cp {in} {out}"
  keep: 0
      //^ error[K0029]: `keep: 0` would remove every payload as soon as it is taken, the pipeline's outputs too
  storage: "500m"
         //^^^^^^ error[K0029]: `500m` is not a volume size
}
task b {
  shell: "cp {out} {final}"
  keep: "a week"
      //^^^^^^^^ error[K0029]: `a week` is not a duration to keep payloads for
  storage: 10
         //^^ error[K0029]: `storage` takes a string, not an integer
}
task c {
  shell: "cp {final} {last}"
  keep: [1]
      //^^^ error[K0029]: `keep` takes an integer or a duration string, not a list
}
"#,
    );
}

#[test]
fn keep_and_storage_apply_to_tasks_and_from_defaults_to_the_gateway() {
    let analysis = check(
        r#"
defaults {
  keep: "7d"
  storage: "2Gi"
}
(in) a (out)
(out) b (final)
task a { shell: "cp {in} {out}" keep: 100 storage: "1.5Ti" }
task b { shell: "cp {out} {final}" }
"#,
    );
    let pipeline = &analysis.pipeline;
    let a = &pipeline.task("a").unwrap().settings.storage;
    let b = &pipeline.task("b").unwrap().settings.storage;
    assert_eq!((a.keep, a.storage.as_deref()), (Some(Keep::Newest(100)), Some("1.5Ti")));
    assert_eq!((b.keep, b.storage.as_deref()), (Some(Keep::WithinMs(604_800_000)), Some("2Gi")));
    assert_eq!((pipeline.gateway.keep, pipeline.gateway.storage.as_deref()), (b.keep, Some("2Gi")));
    // Retention says how long results stay, not what they are.
    let plain = check(
        "(in) a (out)\n(out) b (final)\ntask a { shell: \"cp {in} {out}\" }\ntask b { shell: \"cp {out} {final}\" }\n",
    );
    let digest = |analysis: &koalja_compiler::analysis::Analysis, task: &str| {
        koalja_compiler::ir::digest::definition_digest(&analysis.pipeline.task(task).unwrap().settings)
    };
    assert_eq!(digest(&analysis, "a"), digest(&plain, "a"));
}

#[test]
fn tasks_need_something_to_run() {
    check(
        r#"
(in) a (out)
   //^ error[K0032]: task `a` has nothing to run
(out) b (final)
    //^ error[K0032]: task `b` has nothing to run
task b { }
"#,
    );
}

#[test]
fn commands_name_only_their_tasks_wires() {
    check(
        r#"
(in_a + in_b, in_c) join (out)
                        //^^^ warning[K0052]: the output `out` is never named in the command of `join`
task join { command: ["join", in_b, in_c, result] }
                            //^^^^ error[K0033]: `in_b` is merged into `in_a`
                                        //^^^^^^ error[K0033]: `result` is not an input or output of task `join`
(in, svc implicit) use (res)
task use { shell: "curl {svc} -d @{in} > {res} && echo ${HOME} {{res}}" }
(in_m) server (svc implicit)
 ^^^^ warning[K0052]: the input `in_m` is never named in the command of `server`
task server { command: ["serve", svc] service: 80 }
                               //^^^ error[K0033]: `svc` is a service output and has no files
"#,
    );
}

#[test]
fn buffer_forms_must_fit_the_policy() {
    check(
        r#"
(in_a[2-5], in_b[4/2]) a (x1)
   //^^^^^ error[K0036]: a range `[M-N]` is only allowed under the `all-new` policy
(in_c[10/2]) b (x2)
   //^^^^^^ error[K0037]: a sliding window `[N/S]` needs the `sliding-window` policy
task b { command: ["p"] policy: all-new }
(in_d[3], in_e) c (x3)
   //^^^ error[K0038]: under `swap-new-for-old` every input takes one value
task c { command: ["p"] policy: swap-new-for-old }
(in_f[2-4], in_g) d (x4)
defaults { command: ["process"] }
"#,
    );
}

/// A region with pipeline inputs or outputs gets a gateway named
/// `<pipeline>-gateway-<region>`: two regions that map to one name, or a
/// region too long for the name, are refused where the region is set.
#[test]
fn regional_gateway_names_must_fit_and_differ() {
    check(
        r#"
[sales]
(in_a) north-a (out_a)
(in_b) north-b (out_b)
(in_c) far (out_c)
task north-a { region: "eu-north" }
task north-b { region: "eu_north" }
                     //^^^^^^^^^^ error[K0039]: region `eu_north` and region `eu-north` are both `gateway-eu-north` on Kubernetes
task far { region: "a-region-whose-name-is-far-too-long-for-it" }
                 //^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ error[K0040]: region `a-region-whose-name-is-far-too-long-for-it` is too long for its gateway: the gateway's objects would be named `sales-gateway-a-region-whose-name-is-far-too-long-for-it`, 56 characters, more than 52
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn kubernetes_names() {
    check(
        r#"
[Team_A/my_pipe]
(in) clean_up (x)
(x) clean-up (y)
  //^^^^^^^^ error[K0039]: task `clean-up` and task `clean_up` are both `clean-up` on Kubernetes
(y) gateway (z)
  //^^^^^^^ error[K0040]: `gateway` is a reserved task name
(z) a-very-long-task-name-that-does-not-fit-anywhere-at-all (out)
  //^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ error[K0040]: task name `a-very-long-task-name-that-does-not-fit-anywhere-at-all` is too long: its objects would be named `my-pipe-a-very-long-task-name-that-does-not-fit-anywhere-at-all`, 63 characters, more than 52
(in_A) _private (In_a)
     //^^^^^^^^ error[K0040]: task name `_private` is not a valid Kubernetes name
               //^^^^ error[K0039]: wire `In_a` and wire `in_A` are both `in-a` on Kubernetes
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn region_crossings_need_export() {
    check(
        r#"
type sales = file "text/csv"
type summary = file "text/csv" export
(in_ke: sales) sum-ke (s_ke: summary)
(in_ke) copy (raw)
 ^^^^^ error[K0041]: wire `in_ke` would carry data across a region boundary, from region `af-east` to region `eu-north`
(s_ke, raw) agg (out)
(in_x: sales) pinned (p: sales)
(p) free (f)
 ^ error[K0041]: wire `p` would carry data across a region boundary, from region `af-west` to any region
(f) free2 (out2)
task sum-ke { command: ["s"] region: "af-east" }
task copy { command: ["c"] region: "eu-north" }
task agg { command: ["a"] region: "eu-north" }
task pinned { command: ["p"] region: "af-west" }
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn cycles_no_input_can_feed() {
    check(
        r#"
(in) start (x)
(x, z) a (y)
     //^ warning[K0050]: tasks `a`, `b` form a cycle that can never fire
(y) b (z)
(w) self (w)
  //^^^^ warning[K0050]: task `self` feeds itself and nothing else can start it, so it can never fire
(in, fb) loop (fb2)
       //^^^^ warning[K0050]: tasks `loop`, `back` form a cycle that can never fire
(fb2) back (fb)
(q + in_seed) seeded (q)
() ticker (tick)
(tick) use-tick (out)
defaults { command: ["process"] }
"#,
    );
}

#[test]
fn unused_task_blocks() {
    check(
        r#"
(in) clean (out)
task clean { command: ["clean"] }
task claen { command: ["clean"] }
   //^^^^^ warning[K0051]: task `claen` is defined but no wiring statement uses it
task lonely { command: ["x"] }
   //^^^^^^ warning[K0051]: task `lonely` is defined but no wiring statement uses it
"#,
    );
}

#[test]
fn every_example_checks_clean() {
    for path in example_paths() {
        let text = std::fs::read_to_string(&path).unwrap();
        let analysis = analyze_text(&text, "example");
        assert!(analysis.diagnostics.is_empty(), "{}: {:?}", path.display(), analysis.diagnostics);
    }
}

#[test]
fn separators_are_commas_or_whitespace_and_statements_may_span_lines() {
    let analysis = check(
        r#"
(in_a in_b,
 in_c[2-3])
   join
(out)
task join { command: ["join", in_a, in_b, in_c, out], retries: 2 env: { A: "1" B: "2" } }
"#,
    );
    let task = &analysis.pipeline.tasks[0];
    assert_eq!(task.inputs.len(), 3);
    assert_eq!(task.inputs[2].firing, Firing::Count { min: 2, max: 3 });
    assert_eq!(task.settings.retries, 2);
    assert_eq!(task.settings.env.len(), 2);
}

#[test]
fn source_and_sink_tasks_have_empty_lists() {
    let analysis = check(
        r#"
() ticker (tick)
(tick) archive ()
defaults { command: ["run"] }
"#,
    );
    let tick = analysis.pipeline.wire("tick").unwrap();
    assert_eq!(tick.role, WireRole::Internal);
    assert!(analysis.pipeline.tasks[0].inputs.is_empty());
    assert!(analysis.pipeline.tasks[1].outputs.is_empty());
}

#[test]
fn pipeline_inputs_start_with_in_and_unconsumed_wires_are_outputs() {
    let analysis = check(
        r#"
[ns/p]
(in_a, index) t (result, extra)
task t { command: ["t"] }
"#,
    );
    let pipeline = &analysis.pipeline;
    assert_eq!((pipeline.namespace.as_str(), pipeline.name.as_str()), ("ns", "p"));
    assert_eq!(pipeline.wire("in_a").unwrap().role, WireRole::PipelineInput);
    assert_eq!(pipeline.wire("index").unwrap().role, WireRole::PipelineInput);
    assert_eq!(pipeline.wire("result").unwrap().role, WireRole::PipelineOutput);
    // No wire name in the command: all inputs' then outputs' paths are appended.
    assert_eq!(
        pipeline.tasks[0].settings.run,
        Some(Run::Command { args: vec![koalja_compiler::model::Arg::Literal("t".into())], append_wire_paths: true })
    );
}

#[test]
fn a_file_without_header_is_named_after_its_stem_in_default() {
    let analysis = analyze_text("(in) t (out)\ntask t { command: [\"t\"] }\n", "my-stem");
    assert_eq!(analysis.pipeline.namespace, "default");
    assert_eq!(analysis.pipeline.name, "my-stem");
}

#[test]
fn policy_defaults_to_sliding_window_when_an_input_has_a_window() {
    let analysis = check(
        r#"
(in_temp[10/2], in_scale) average (out_avg)
(in_x[3]) plain (out_x)
defaults { command: ["p"] }
"#,
    );
    let average = analysis.pipeline.task("average").unwrap();
    assert_eq!(average.settings.policy, Policy::SlidingWindow);
    assert_eq!(average.inputs[0].firing, Firing::Window { size: 10, slide: 2 });
    // A plain input under sliding-window is a tumbling window of its count.
    assert_eq!(average.inputs[1].firing, Firing::Window { size: 1, slide: 1 });
    let plain = analysis.pipeline.task("plain").unwrap();
    assert_eq!(plain.settings.policy, Policy::AllNew);
    assert_eq!(plain.inputs[0].firing, Firing::Count { min: 3, max: 3 });
}

#[test]
fn wire_types_come_from_the_producer_then_the_consumers() {
    let analysis = check(
        r#"
type model = dir "application/x-tfmodel"
(in) a (x: json)
(x) b (y)
(y: model) c (z)
(z) d (out)
defaults { command: ["p"] }
"#,
    );
    let ty = |name: &str| analysis.pipeline.wire(name).unwrap().ty.clone();
    assert_eq!(ty("x"), "json");
    assert_eq!(ty("y"), "model");
    assert_eq!(ty("z"), "file");
    assert_eq!(ty("in"), "file");
}

#[test]
fn a_type_declaration_may_shadow_a_builtin() {
    let analysis = check(
        r#"
type csv = file "text/csv; header=present" export
(in: csv) a (out)
task a { command: ["a"] }
"#,
    );
    assert_eq!(analysis.pipeline.types[0].mime.as_deref(), Some("text/csv; header=present"));
    assert!(analysis.pipeline.types[0].export);
}

#[test]
fn implicit_wires_are_services_and_service_tasks_restart() {
    let analysis = check(
        r#"
(in_model) server (lookup implicit)
(in, lookup implicit) predict (out)
task server { command: ["serve", in_model] service: 8501 }
task predict { shell: "curl $KOALJA_SERVICE_LOOKUP -d @{in} > {out}" }
"#,
    );
    let pipeline = &analysis.pipeline;
    let lookup = pipeline.wire("lookup").unwrap();
    assert!(lookup.implicit);
    assert_eq!(lookup.ty, "service");
    let server = pipeline.task("server").unwrap();
    assert_eq!(server.settings.service_port, Some(8501));
    assert_eq!(server.settings.launch, Launch::Restart);
    let predict = pipeline.task("predict").unwrap();
    assert_eq!(predict.inputs[1].firing, Firing::Service);
    assert_eq!(predict.settings.launch, Launch::Auto);
}

#[test]
fn task_settings_override_defaults_key_by_key_and_command_replaces_shell() {
    let analysis = check(
        r#"
defaults {
  image: "alpine:3.20"
  shell: "cat {in} > {out}"
  timeout: "1h30m"
  retries: 1
}
(in) a (out)
(in_b) b (out_b)
task b {
  command: ["b", in_b, out_b]
  retries: 3
  resources: { cpu: 2, memory: "1Gi" }
  region: "eu-north"
}
"#,
    );
    let a = analysis.pipeline.task("a").unwrap();
    let b = analysis.pipeline.task("b").unwrap();
    assert_eq!(a.settings.image.as_deref(), Some("alpine:3.20"));
    assert!(matches!(a.settings.run, Some(Run::Shell(_))));
    assert_eq!(a.settings.timeout_ms, Some(5_400_000));
    assert_eq!((a.settings.retries, b.settings.retries), (1, 3));
    assert!(matches!(b.settings.run, Some(Run::Command { append_wire_paths: false, .. })));
    assert_eq!(b.settings.image.as_deref(), Some("alpine:3.20"));
    assert_eq!(b.settings.resources.get("cpu").map(|q| q.as_str()), Some("2"));
    assert_eq!(b.settings.region.as_deref(), Some("eu-north"));
}

#[test]
fn a_missing_task_block_comes_with_a_fix_that_adds_one() {
    let text = "(in) a (out)\n";
    let analysis = analyze_text(text, "p");
    let fix = &analysis.diagnostics[0].fixes[0];
    let mut fixed = text.to_owned();
    let edit = &fix.edits[0];
    fixed.replace_range(edit.span.range(), &edit.replacement);
    let again = analyze_text(&fixed, "p");
    assert!(again.diagnostics.iter().all(|d| !d.is_error()), "{fixed}\n{:?}", again.diagnostics);
}

#[test]
fn did_you_mean_fixes_produce_clean_programs() {
    for text in [
        "(in) clean (cleaned)\n(claned) total (out)\ndefaults { command: [\"p\"] }\n",
        "(in) a (out)\ntask a { shell: \"cp {in} {out}\" policy: all-nwe }\n",
        "(in) a (out)\ntask a { shell: \"cp {in} {out}\" imgae: \"x\" }\n",
        "(in: jsno) a (out)\ntask a { shell: \"cp {in} {out}\" }\n",
        "(in) a (out)\ntask a { shell: \"cp {in} {otu}\" }\n",
    ] {
        let analysis = analyze_text(text, "p");
        let fix =
            analysis.diagnostics.iter().find_map(|d| d.fixes.first()).unwrap_or_else(|| panic!("no fix for {text}"));
        let mut fixed = text.to_owned();
        let mut edits = fix.edits.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
        for edit in edits {
            fixed.replace_range(edit.span.range(), &edit.replacement);
        }
        let again = analyze_text(&fixed, "p");
        assert!(again.diagnostics.is_empty(), "{fixed}\n{:?}", again.diagnostics);
    }
}

#[test]
fn the_sovereign_example_fails_without_export() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sovereign.kja")).unwrap();
    let without_export = text.replace("\"text/csv\" export", "\"text/csv\"");
    let analysis = analyze_text(&without_export, "sovereign");
    let crossings = analysis.diagnostics.iter().filter(|d| d.code.as_str() == "K0041").count();
    assert_eq!(crossings, 2, "{:?}", analysis.diagnostics);
    // The fix puts `export` back.
    let fix = &analysis.diagnostics.iter().find(|d| d.code.as_str() == "K0041").unwrap().fixes[0];
    assert_eq!(fix.edits[0].replacement, " export");
}

#[test]
fn inputs_that_can_never_fill() {
    check(
        r#"
() ticker (tick)
(tick[3]) batch (out)
 ^^^^^^^ error[K0042]: `tick` can carry at most 1 value, but `batch` needs 3 before it can run
(out) after-batch (out2)
(tick) once (t2)
(t2, in_more) sum (t3)
(t3[2/1]) window (t4)
 ^^^^^^^ error[K0042]: `t3` can carry at most 1 value, but `window` needs 2 before it can run
(t2 + in_feed) merged (t5)
(t5[5/1]) fine (t6)
(in_x[4/2]) loop-a (l1)
(l1 + back) loop-b (back, out3)
defaults { command: ["p"] }
"#,
    );
}
