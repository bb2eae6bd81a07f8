//! `line-relay CMD [ARG]...`: the floor of any stdio proxy. Starts CMD and
//! copies bytes both ways, unparsed, one read and one write at a time: no
//! framing, no policy, no audit. What a proxy adds beyond this is its own
//! work; what this adds over a direct connection is the extra process hop.

use std::io::{self, Read, Write};
use std::process::{Command, ExitCode, Stdio};

fn pump(mut from: impl Read, mut to: impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: line-relay COMMAND [ARG]...");
        return ExitCode::from(2);
    };
    let mut child = match Command::new(&program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "line-relay: cannot start {}: {e}",
                program.to_string_lossy()
            );
            return ExitCode::FAILURE;
        }
    };
    let child_in = child.stdin.take().expect("piped");
    let child_out = child.stdout.take().expect("piped");
    // Closing the child's stdin when ours ends asks it to exit.
    let up = std::thread::spawn(move || pump(io::stdin().lock(), child_in));
    let _ = pump(child_out, io::stdout().lock());
    let _ = up.join();
    match child.wait() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
