//! `leakypick-fuzz`: the mutation-fuzz campaign (docs/fuzzing.md). Exit status 0 when
//! nothing was found, 1 on any finding, 2 on bad arguments or missing seeds.

use leakypick_fuzz::seeds::{self, Seed};
use leakypick_fuzz::{install_quiet_panic_hook, run, Budgets, Config, Summary};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str = "\
usage: leakypick-fuzz [OPTIONS]

Mutates capture files and runs each through leakypick's reader, decoding, analyze,
evaluate and compare, watching for panics, time, memory, work and invariants.

  --seed N           campaign seed (default 1): the same seed gives the same inputs
  --seconds S        stop after S seconds (default 60 unless --iterations is given)
  --iterations N     stop after N mutated inputs
  --only I           run only mutated input I (reproduces a finding's input)
  --seeds DIR        seed directory, repeatable, instead of ../shared/captures (the
                     regression seeds, committed in crates/leakypick-fuzz/seeds and
                     generated, are always checked first)
  --out DIR          save inputs with findings here (default target/fuzz-findings)
  --max-ms MS        time budget per input (default 3000, 30000 in a debug build; 0: off)
  --max-mem-mb MB    peak-memory growth budget per input (default 64; 0: off)
  --max-input-mb MB  cut mutated inputs to this size (default 8)
  --write-seeds DIR  write the committed regression seeds from their generators, then exit
  --replay FILE...   check these files as they are (no mutation), then exit
  -h, --help         this text
";

struct Args {
    config: Config,
    seed_dirs: Vec<PathBuf>,
    replay: Vec<PathBuf>,
    write_seeds: Option<PathBuf>,
}

fn parse() -> Result<Args, String> {
    let mut config = Config {
        out_dir: Some(PathBuf::from("target/fuzz-findings")),
        ..Config::default()
    };
    let mut budgets = Budgets::default_for_build();
    let mut args = Args {
        config: Config::default(),
        seed_dirs: Vec::new(),
        replay: Vec::new(),
        write_seeds: None,
    };
    let mut it = std::env::args().skip(1);
    let mut replaying = false;
    while let Some(a) = it.next() {
        if replaying && !a.starts_with("--") {
            args.replay.push(PathBuf::from(a));
            continue;
        }
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("{name}: '{v}' is not a whole number"))
        };
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--seed" => config.seed = number("--seed", value("--seed")?)?,
            "--seconds" => {
                let v = value("--seconds")?;
                let s: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| format!("--seconds: '{v}' is not a number of seconds"))?;
                config.seconds = Some(s);
            }
            "--iterations" => config.iterations = Some(number(&a, value(&a)?)?),
            "--only" => config.only = Some(number(&a, value(&a)?)?),
            "--seeds" => args.seed_dirs.push(PathBuf::from(value(&a)?)),
            "--out" => config.out_dir = Some(PathBuf::from(value(&a)?)),
            "--max-ms" => {
                let ms = number(&a, value(&a)?)?;
                budgets.time = (ms > 0).then(|| Duration::from_millis(ms));
            }
            "--max-mem-mb" => {
                let mb = number(&a, value(&a)?)?;
                budgets.memory = (mb > 0).then_some(mb << 20);
            }
            "--max-input-mb" => {
                config.max_input = usize::try_from(number(&a, value(&a)?)?.max(1) << 20)
                    .map_err(|_| "--max-input-mb is too large".to_string())?;
            }
            "--write-seeds" => args.write_seeds = Some(PathBuf::from(value(&a)?)),
            "--replay" => replaying = true,
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if replaying && args.replay.is_empty() {
        return Err("--replay needs at least one file".into());
    }
    if config.seconds.is_none() && config.iterations.is_none() {
        config.seconds = Some(60.0);
    }
    config.budgets = budgets;
    args.config = config;
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("leakypick-fuzz: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.write_seeds {
        for (name, bytes) in seeds::committed_generated() {
            let path = dir.join(name);
            if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, bytes))
            {
                eprintln!("leakypick-fuzz: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
            println!("wrote {}", path.display());
        }
        return ExitCode::SUCCESS;
    }
    install_quiet_panic_hook();
    let summary = if args.replay.is_empty() {
        let seeds = match load_seeds(&args.seed_dirs) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => {
                eprintln!("leakypick-fuzz: no seed files found");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("leakypick-fuzz: {e}");
                return ExitCode::from(2);
            }
        };
        let c = &args.config;
        eprintln!(
            "leakypick-fuzz: {} seeds, seed {}, {}{}budgets: {} per input, {} memory",
            seeds.len(),
            c.seed,
            c.seconds.map_or(String::new(), |s| format!("{s} s, ")),
            c.iterations
                .map_or(String::new(), |n| format!("{n} iterations, ")),
            c.budgets.time.map_or("no time limit".into(), |t| format!(
                "{:.1} s",
                t.as_secs_f64()
            )),
            c.budgets
                .memory
                .map_or("no limit on".into(), |m| format!("{} MiB", m >> 20)),
        );
        run(&seeds, &args.config, &mut |line| eprintln!("{line}"))
    } else {
        let mut seeds = Vec::new();
        for path in &args.replay {
            match std::fs::read(path) {
                Ok(data) => seeds.push(Seed {
                    name: path.display().to_string(),
                    data: Arc::from(data),
                    mutate: false,
                }),
                Err(e) => {
                    eprintln!("leakypick-fuzz: cannot read {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
        }
        let config = Config {
            iterations: Some(0),
            ..args.config
        };
        run(&seeds, &config, &mut |line| eprintln!("{line}"))
    };
    println!("{summary}");
    exit_status(&summary)
}

/// The seeds of `dirs` (or the shared captures), then the regression seeds.
fn load_seeds(dirs: &[PathBuf]) -> std::io::Result<Vec<Seed>> {
    if dirs.is_empty() {
        return seeds::default_seeds();
    }
    let mut out = Vec::new();
    for d in dirs {
        seeds::load_dir(d, &mut out)?;
    }
    seeds::load_dir(&seeds::committed_dir(), &mut out)?;
    out.extend(seeds::generated());
    Ok(out)
}

fn exit_status(summary: &Summary) -> ExitCode {
    if summary.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
