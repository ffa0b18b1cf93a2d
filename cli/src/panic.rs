//! A panic is always a bug in koaljac, never the user's fault: say so, say
//! where, and ask for a report, instead of Rust's default message.

pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map_or_else(|| "an unknown place".to_owned(), |l| l.to_string());
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: koaljac crashed at {location}: {message}");
        eprintln!("This is a bug in Koalja, not in your pipeline. Please report it with the file you were checking.");
    }));
}
