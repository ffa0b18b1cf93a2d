//! Writes a generated benchmark pipeline: `generate TASKS OUT.kja`.

#[path = "../benches/generate.rs"]
mod generate;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(tasks), Some(out)) = (args.get(1).and_then(|n| n.parse().ok()), args.get(2)) else {
        eprintln!("usage: generate TASKS OUT.kja");
        std::process::exit(2);
    };
    if let Err(error) = std::fs::write(out, generate::pipeline(tasks)) {
        eprintln!("cannot write {out}: {error}");
        std::process::exit(2);
    }
}
