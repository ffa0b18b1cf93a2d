//! The output of a build: every object in apply order, made one at a time
//! as the output reaches it. A build of 10,000 tasks emits 30,000 objects
//! and tens of megabytes of YAML; holding them all would cost more than
//! writing them.

use std::borrow::Cow;
use std::io::Write;

use petgraph::graph::NodeIndex;
use serde::Serialize;

use super::objects::{is_service, task_object, Context, TaskObject};
use super::{apply_order_of, yaml, Object};
use crate::check::names::kubernetes_name;
use crate::ir::Node;

/// The objects of one pipeline, ready to be written.
pub struct Manifests {
    context: Context,
    /// In output order: apply order, then name.
    entries: Vec<Entry>,
}

enum Entry {
    /// A pipeline-wide object, made up front (there are a dozen).
    Made(Object),
    /// One of a task's objects, made when written.
    Task(NodeIndex, TaskObject),
}

impl std::fmt::Debug for Manifests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifests")
            .field("namespace", &self.context.ir.namespace)
            .field("pipeline", &self.context.ir.name)
            .field("objects", &self.len())
            .finish()
    }
}

/// YAML is made and handed on in blocks of this many objects (about 100 KB).
const OBJECTS_PER_BLOCK: usize = 64;

impl Manifests {
    pub(super) fn new(context: Context, pipeline_objects: Vec<Object>) -> Manifests {
        let mut keyed: Vec<(usize, String, Entry)> = pipeline_objects
            .into_iter()
            .map(|object| (object.apply_order(), object.name().to_owned(), Entry::Made(object)))
            .collect();
        let ir = &context.ir;
        for index in ir.graph.node_indices() {
            let Node::Task(task) = &ir.graph[index] else { continue };
            let name = context.object_name(&kubernetes_name(&task.name));
            let workload = if is_service(ir, index) { "Deployment" } else { "StatefulSet" };
            for (kind, which) in [
                ("NetworkPolicy", TaskObject::NetworkPolicy),
                ("Service", TaskObject::Service),
                (workload, TaskObject::Workload),
            ] {
                keyed.push((apply_order_of(kind), name.clone(), Entry::Task(index, which)));
            }
        }
        keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Manifests { context, entries: keyed.into_iter().map(|(_, _, entry)| entry).collect() }
    }

    /// The namespace every object goes into (its Kubernetes name).
    pub fn namespace(&self) -> &str {
        self.context.namespace()
    }

    /// The pipeline's Kubernetes name: the value of its `PART_OF` labels.
    pub fn pipeline(&self) -> &str {
        self.context.pipeline()
    }

    /// How many objects the build emits.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every object, in apply order (for callers that need them all at once).
    pub fn objects(&self) -> Vec<Object> {
        self.stream().map(Cow::into_owned).collect()
    }

    fn stream(&self) -> impl Iterator<Item = Cow<'_, Object>> {
        self.entries.iter().filter_map(|entry| self.object(entry))
    }

    fn object<'m>(&'m self, entry: &'m Entry) -> Option<Cow<'m, Object>> {
        match entry {
            Entry::Made(object) => Some(Cow::Borrowed(object)),
            Entry::Task(index, which) => task_object(&self.context, *index, *which).map(Cow::Owned),
        }
    }

    /// One YAML stream, documents separated by `---`, handed to `sink` in
    /// order, a block of objects at a time. Blocks are made on every core
    /// (worker `k` makes blocks `k`, `k + workers`, …) and each worker runs
    /// at most two blocks ahead, so memory stays bounded however large the
    /// build.
    fn yaml_pieces<E>(&self, mut sink: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        let blocks: Vec<&[Entry]> = self.entries.chunks(OBJECTS_PER_BLOCK).collect();
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(blocks.len());
        if workers <= 1 {
            return blocks.iter().try_for_each(|block| sink(&self.yaml_block(block)));
        }
        std::thread::scope(|scope| {
            let receivers: Vec<_> = (0..workers)
                .map(|worker| {
                    let (sender, receiver) = std::sync::mpsc::sync_channel::<String>(2);
                    let blocks = &blocks;
                    scope.spawn(move || {
                        for block in blocks.iter().skip(worker).step_by(workers) {
                            // The receiver is gone only when the sink failed.
                            if sender.send(self.yaml_block(block)).is_err() {
                                break;
                            }
                        }
                    });
                    receiver
                })
                .collect();
            for index in 0..blocks.len() {
                match receivers[index % workers].recv() {
                    Ok(piece) => sink(&piece)?,
                    // A worker stopped early: it panicked, and the scope
                    // re-raises that when it ends.
                    Err(_) => break,
                }
            }
            Ok(())
        })
    }

    fn yaml_block(&self, block: &[Entry]) -> String {
        let mut piece = String::with_capacity(block.len() * 2048);
        for entry in block {
            let Some(object) = self.object(entry) else { continue };
            piece.push_str("---\n");
            // k8s-openapi objects use no construct the writer lacks.
            if let Err(error) = yaml::write(&mut piece, object.as_ref()) {
                unreachable!("{error}");
            }
        }
        piece
    }

    pub fn write_yaml(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.yaml_pieces(|piece| out.write_all(piece.as_bytes()))
    }

    pub fn to_yaml(&self) -> String {
        let mut text = String::new();
        let _ = self.yaml_pieces::<()>(|piece| {
            text.push_str(piece);
            Ok(())
        });
        text
    }

    /// A `v1` `List` holding every object, pretty-printed.
    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        struct Items<'m>(&'m Manifests);
        impl Serialize for Items<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.stream())
            }
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct List<'m> {
            api_version: &'static str,
            kind: &'static str,
            items: Items<'m>,
        }
        let mut buffered = std::io::BufWriter::new(out);
        super::json::to_writer_pretty(&mut buffered, &List { api_version: "v1", kind: "List", items: Items(self) })?;
        buffered.write_all(b"\n")?;
        buffered.flush()
    }

    pub fn to_json(&self) -> String {
        let mut bytes = Vec::new();
        let _ = self.write_json(&mut bytes);
        // serde_json writes UTF-8 only.
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
