//! Times each front-end phase on one file: `phases FILE`; with `--build`,
//! also the phases of `koaljac build`. A profiling aid.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use koalja_compiler::diagnostic::Diagnostics;
use koalja_compiler::{check, syntax};

/// Counts live and peak heap bytes, so phases can be compared exactly
/// (resident memory depends on the allocator's page reuse).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.fetch_add(1, Ordering::Relaxed);
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let path = std::env::args().nth(1).expect("usage: phases FILE [--build]");
    let and_build = std::env::args().nth(2).is_some_and(|flag| flag == "--build");
    let text = std::fs::read_to_string(path).expect("readable UTF-8 file");
    let mut diagnostics = Diagnostics::default();
    let mut peaks = vec![peak_kb()];
    let start = Instant::now();
    let lexed = syntax::lexer::lex(&text, &mut diagnostics);
    let lexed_at = Instant::now();
    peaks.push(peak_kb());
    let file = syntax::parser::parse(&text, &lexed.tokens, &mut diagnostics);
    let parsed_at = Instant::now();
    peaks.push(peak_kb());
    let pipeline = check::check(&text, &file, "p", &mut diagnostics);
    let checked_at = Instant::now();
    peaks.push(peak_kb());
    println!("(live KB, peak KB, allocations, page faults) after read, lex, parse, check: {:?}", peaks);
    println!(
        "{} bytes, {} tokens, {} tasks: lex {:?}, parse {:?}, check {:?}",
        text.len(),
        lexed.tokens.len(),
        pipeline.tasks.len(),
        lexed_at - start,
        parsed_at - lexed_at,
        checked_at - parsed_at
    );
    if and_build {
        build_phases(&text);
    }
}

fn build_phases(text: &str) {
    use koalja_compiler::lower;
    let analysis = koalja_compiler::analysis::analyze_text(text, "p");
    let mut peaks = vec![peak_kb()];
    let start = Instant::now();
    let ir = koalja_compiler::ir::Ir::from_analysis(&analysis);
    let ir_at = Instant::now();
    peaks.push(peak_kb());
    drop(ir);
    let options = lower::BuildOptions::default();
    let manifests = lower::build(&analysis, &options).expect("builds");
    let built_at = Instant::now();
    peaks.push(peak_kb());
    let yaml = manifests.to_yaml();
    let yaml_at = Instant::now();
    peaks.push(peak_kb());
    println!(
        "(live KB, peak KB, allocations, page faults) after analyze, IR, build (lazy), YAML (objects made): {:?}",
        peaks
    );
    println!(
        "{} objects, {} bytes of YAML: IR {:?}, build (IR included) {:?}, YAML {:?}",
        manifests.len(),
        yaml.len(),
        ir_at - start,
        built_at - ir_at,
        yaml_at - built_at
    );
}

/// (live, peak) heap kilobytes, allocations, and minor page faults so far.
fn peak_kb() -> (usize, usize, usize, u64) {
    let faults = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| stat.rsplit(") ").next().and_then(|rest| rest.split(' ').nth(7).and_then(|f| f.parse().ok())))
        .unwrap_or(0);
    (LIVE.load(Ordering::Relaxed) / 1024, PEAK.load(Ordering::Relaxed) / 1024, COUNT.load(Ordering::Relaxed), faults)
}
