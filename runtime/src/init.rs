//! The agent as PID 1 of a container. Process 1 has duties no other process
//! has: every orphan in the container becomes its child (a user command's
//! background job whose shell exited, say), and it must reap them or they
//! stay zombies for the pod's life; and the kernel gives it no default
//! signal actions, so a SIGTERM it does not handle is ignored.
//!
//! So, as PID 1, the agent starts itself again as process 2 (the real agent,
//! which knows by `UNDER_INIT` that it is not PID 1) and stays behind as a
//! small init, as tini and dumb-init do: it reaps every child that exits,
//! passes SIGTERM, SIGINT, SIGHUP and SIGQUIT on to the agent, and exits
//! with the agent's status when the agent exits.

use std::process::ExitCode;

/// Set in the agent's environment by the init that started it.
pub const UNDER_INIT: &str = "KOALJA_AGENT_UNDER_INIT";

/// Signals passed on to the agent.
const PASSED_ON: [i32; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// True when this process should be the init: it is PID 1, and not the
/// agent an init started.
pub fn is_needed() -> bool {
    std::process::id() == 1 && std::env::var_os(UNDER_INIT).is_none()
}

/// Starts the agent with this process's arguments and stays as its init
/// until it exits; its exit status (128 + N for a signal N).
pub fn run() -> ExitCode {
    let Ok(me) = std::env::current_exe() else {
        eprintln!("koalja-agent: as PID 1, cannot find its own binary");
        return ExitCode::from(crate::cli::EXIT_AGENT_FAULT);
    };
    // Blocked before the agent starts, so none is lost in between; the
    // agent gets the usual mask back (a mask is inherited across exec).
    let mask = signal_set(&[&[libc::SIGCHLD][..], &PASSED_ON[..]].concat());
    // SAFETY: sigprocmask with a valid set and no old set.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut()) };
    let mut command = std::process::Command::new(me);
    command.args(std::env::args_os().skip(1)).env(UNDER_INIT, "1");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            libc::sigprocmask(libc::SIG_UNBLOCK, &mask, std::ptr::null_mut());
            Ok(())
        });
    }
    let agent = match command.spawn() {
        Ok(child) => child.id() as libc::pid_t,
        Err(error) => {
            eprintln!("koalja-agent: as PID 1, cannot start the agent: {error}");
            return ExitCode::from(crate::cli::EXIT_AGENT_FAULT);
        }
    };
    loop {
        // SAFETY: a zeroed siginfo_t is a valid place for sigwaitinfo to
        // fill; it waits for one of the blocked signals.
        let signal = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::sigwaitinfo(&mask, &mut info)
        };
        if PASSED_ON.contains(&signal) {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(agent, signal) };
            continue;
        }
        // SIGCHLD (or an interrupted wait): reap every child that exited.
        loop {
            let mut status = 0;
            // SAFETY: waitpid on any child, not blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == agent {
                let code =
                    if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
                return ExitCode::from(code as u8);
            }
        }
    }
}

fn signal_set(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset adds valid signals.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}
