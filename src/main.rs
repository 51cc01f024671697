//! The `leakypick` command line: parse, dispatch, exit code. The clap definitions are
//! in `cli`; every command's work (checking its settings once, running, rendering) is
//! in `leakypick-app`, one folder per feature.

mod cli;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use leakypick_app::error::{Error, Result};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (e.g. `leakypick analyze | head`) is not an error.
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("leakypick: error: {}", message(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each said once: a cause whose text the message already
/// contains is not repeated.
fn message(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text = format!("{text}: {c}");
        }
        source = cause.source();
    }
    text
}

fn run(cli: Cli) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match cli.command {
        Command::Analyze(args) => leakypick_app::analyze::command::run(&args.command(), &mut out),
        Command::Compare(args) => leakypick_app::compare::command::run(&args.command(), &mut out),
        Command::Simulate(args) => {
            leakypick_app::simulate::command::run(&args.command(), &mut out, &mut std::io::stderr())
        }
        Command::Evaluate(args) => leakypick_app::evaluate::command::run(&args.command(), &mut out),
        Command::Devices(args) => leakypick_app::history::command::devices(
            args.data.data_dir.as_deref(),
            args.format.format.into(),
            &mut out,
        ),
        Command::Events(args) => leakypick_app::history::command::events(
            args.data.data_dir.as_deref(),
            args.since,
            args.format.format.into(),
            &mut out,
        ),
        Command::Name(args) => leakypick_app::history::command::name(
            args.data.data_dir.as_deref(),
            args.device,
            &args.name,
            args.format.format.into(),
            &mut out,
        ),
        Command::Report(args) => leakypick_app::history::command::report(
            args.data.data_dir.as_deref(),
            args.format.format.into(),
            &mut out,
        ),
        // The monitor prints each detection as it happens: unbuffered.
        Command::Monitor(args) => {
            leakypick_app::monitor::command::run(&args.command(), &mut stdout_lock())
        }
        Command::Probe(args) => leakypick_app::probing::command::run(&args.command(), &mut out),
        Command::Fuzz(args) => match args.report {
            Some(cli::FuzzSub::Report(r)) => {
                leakypick_app::campaign::command::report(&r.command(), &mut out)
            }
            None => leakypick_app::campaign::command::run(&args.command(), &mut out),
        },
        Command::Replay(args) => replay(args, &mut out),
        Command::Phonetic(args) => leakypick_app::phonetic::command::run(&args.command(), &mut out),
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "leakypick", &mut out);
            Ok(out.flush()?)
        }
        Command::Man(args) => man(args.out.as_deref(), &mut out),
    }
}

fn stdout_lock() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

#[cfg(feature = "live")]
fn replay(args: cli::ReplayArgs, out: &mut dyn Write) -> Result<()> {
    use leakypick_app::replay::{Pacing, ReplayOptions};
    let pacing = match (args.top_speed, args.mbps) {
        (true, _) => Pacing::TopSpeed,
        (false, Some(r)) => Pacing::Mbps(r),
        (false, None) => Pacing::Recorded { speed: args.speed },
    };
    let opts = ReplayOptions {
        interface: args.interface,
        files: args.files,
        pacing,
        loops: args.loops,
    };
    leakypick_app::replay::run(&opts, args.format.into(), out)
}

#[cfg(not(feature = "live"))]
fn replay(_args: cli::ReplayArgs, _out: &mut dyn Write) -> Result<()> {
    Err(Error::usage(
        "this build of leakypick has no live capture, which `replay` needs: rebuild it with \
         `cargo build --release --features live` (needs libpcap-dev)",
    ))
}

/// The man pages, generated from the clap definitions: the main page on stdout, or
/// every page into a directory.
fn man(dir: Option<&std::path::Path>, out: &mut dyn Write) -> Result<()> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        clap_mangen::Man::new(cmd).render(out)?;
        return Ok(out.flush()?);
    };
    std::fs::create_dir_all(dir)?;
    let mut written = 0;
    let mut page = |name: String, cmd: clap::Command| -> Result<()> {
        let mut text = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut text)?;
        std::fs::write(dir.join(format!("{name}.1")), text)?;
        written += 1;
        Ok(())
    };
    for sub in cmd.get_subcommands() {
        let name = format!("leakypick-{}", sub.get_name());
        page(name.clone(), sub.clone().name(name))?;
    }
    page("leakypick".into(), cmd)?;
    writeln!(out, "wrote {written} man pages into {}", dir.display())?;
    Ok(out.flush()?)
}
