//! The pipeline's gateways: where files are dropped in and outputs
//! collected. Data stays in its region at run time too (LANGUAGE.md §4): a
//! pipeline input belongs to the region of the tasks that consume it, a
//! pipeline output to the region of the task that produces it, and each
//! region with such a wire gets a gateway of its own, pinned there. The main
//! gateway (always present) takes the wires of no region (or of several,
//! for an `export` input) and gathers the pipeline's history.

use std::collections::BTreeMap;

use serde::Serialize;
use smol_str::SmolStr;

use crate::model::{Pipeline, WireRole};

/// The main gateway's name; a region's is `gateway-<region>`.
pub const MAIN: &str = "gateway";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gateway {
    /// `None` for the main gateway.
    pub region: Option<SmolStr>,
    /// The agent's name, and its objects' suffix (`<pipeline>-<name>`): a
    /// DNS label, as Service names must be.
    pub kubernetes_name: SmolStr,
    /// The pipeline inputs dropped into it, in the pipeline's wire order.
    pub inputs: Vec<SmolStr>,
    /// The pipeline outputs it collects.
    pub outputs: Vec<SmolStr>,
}

/// The main gateway first, then one per region in region order.
pub fn gateways(pipeline: &Pipeline) -> Vec<Gateway> {
    let region_of_task = |task: usize| pipeline.tasks.get(task).and_then(|task| task.settings.region.clone());
    let mut by_region: BTreeMap<Option<SmolStr>, (Vec<SmolStr>, Vec<SmolStr>)> = BTreeMap::new();
    by_region.insert(None, (Vec::new(), Vec::new()));
    for wire in &pipeline.wires {
        match wire.role {
            WireRole::PipelineInput => {
                // One region if every consumer agrees (the checker allows
                // no other, unless the type is `export`), else the main one.
                let mut regions = wire.consumers.iter().map(|&task| region_of_task(task));
                let first = regions.next().flatten();
                let region = if regions.all(|region| region == first) { first } else { None };
                by_region.entry(region).or_default().0.push(wire.name.clone());
            }
            WireRole::PipelineOutput => {
                let region = wire.producer.and_then(region_of_task);
                by_region.entry(region).or_default().1.push(wire.name.clone());
            }
            WireRole::Internal => {}
        }
    }
    by_region
        .into_iter()
        .map(|(region, (inputs, outputs))| Gateway {
            kubernetes_name: region.as_deref().map_or_else(|| SmolStr::new(MAIN), regional_name),
            region,
            inputs,
            outputs,
        })
        .collect()
}

/// `gateway-<region>` in DNS-label form: a region is a label value, which
/// may hold `_`, `.` and capitals.
pub fn regional_name(region: &str) -> SmolStr {
    let mut name = format!("{MAIN}-");
    name.extend(region.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }));
    SmolStr::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_become_dns_labels() {
        assert_eq!(regional_name("af-east"), "gateway-af-east");
        assert_eq!(regional_name("EU_north.1"), "gateway-eu-north-1");
    }
}
