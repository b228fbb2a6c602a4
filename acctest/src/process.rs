//! Finding and killing the provider plugin process that Terraform started (the crash test).

use std::path::Path;

/// (pid, parent pid, command name) of every process in /proc.
fn processes() -> Vec<(u32, u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat =
                std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))
                    .ok()?;
            // `pid (comm) state ppid ...`; comm may contain spaces and parentheses.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = stat[open + 1..close].to_string();
            let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid, comm))
        })
        .collect()
}

/// Pids of the descendants of `root` whose command name starts with `name` (the kernel keeps 15
/// characters of it).
pub fn descendants_named(root: u32, name: &str) -> Vec<u32> {
    let all = processes();
    let short: String = name.chars().take(15).collect();
    let mut family = vec![root];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(all.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    all.iter()
        .filter(|p| p.0 != root && family.contains(&p.0) && p.2.starts_with(&short))
        .map(|p| p.0)
        .collect()
}

/// Sends SIGKILL to `pid`.
pub fn kill9(pid: u32) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    // SAFETY: kill(2) with a pid we found among our own descendants; no memory effects.
    if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
