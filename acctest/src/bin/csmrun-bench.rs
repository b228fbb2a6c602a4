fn main() -> anyhow::Result<()> {
    use csmrun_acctest::bench::{env::*, world};
    let dir = provider_dir()?;
    let b = Bench::new(&world::seed(0.05, false), &dir)?;
    b.config(&world::config(0.05, 1))?;
    let run = b.apply()?;
    println!(
        "code {:?} wall {:?} peak {:?}",
        run.code, run.wall, run.provider_peak_kib
    );
    for e in &run.log {
        println!(
            "{} {} {} {} {}",
            e["time"],
            e["method"],
            e["path"],
            serde_json::to_string(&e["query"])?,
            e["status"]
        );
    }
    std::fs::write(
        "/tmp/probe-log.json",
        serde_json::to_string_pretty(&run.log)?,
    )?;
    let p = b.plan()?;
    println!("plan code {:?} wall {:?}", p.code, p.wall);
    for e in &p.log {
        println!(
            "{} {} {} {}",
            e["time"], e["method"], e["path"], e["status"]
        );
    }
    Ok(())
}
