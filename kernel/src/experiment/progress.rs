//! Progress of a training stage on stderr: an indicatif bar on a terminal, and plain lines
//! (about every tenth of the stage, and at its end) when stderr is a file or a CI log. Runs
//! that are asked to be quiet (`--quiet`, tests, notebooks) show nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// How progress is shown.
enum Show {
    Quiet,
    Bar(ProgressBar),
    /// Plain lines: the step of the next line.
    Lines {
        next: usize,
    },
}

/// One training stage's progress.
pub(crate) struct StageProgress {
    show: Show,
    name: String,
    first: usize,
    total: usize,
    started: Instant,
}

impl StageProgress {
    /// Progress of `name` (run and stage) from step `first` to `total`; nothing when `!visible`.
    pub(crate) fn new(visible: bool, name: String, first: usize, total: usize) -> StageProgress {
        let show = if !visible {
            Show::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{prefix} [{bar:24}] {pos}/{len} {msg} | ETA {eta}")
                .expect("a valid template")
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name.clone());
            bar.set_position(first as u64);
            Show::Bar(bar)
        } else {
            Show::Lines { next: first + (total / 10).max(1) }
        };
        StageProgress { show, name, first, total, started: Instant::now() }
    }

    /// Step `step` is done with training loss `loss`; `best` is the best validation PSNR so far.
    pub(crate) fn step(&mut self, step: usize, loss: f64, best: Option<f64>) {
        let val = best.map(|p| format!(" | val PSNR {p:.2}")).unwrap_or_default();
        let total = self.total;
        let rate = (step - self.first) as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        match &mut self.show {
            Show::Quiet => {}
            Show::Bar(bar) => {
                bar.set_message(format!("loss {loss:.4e}{val} | {rate:.1} it/s"));
                bar.set_position(step as u64);
            }
            Show::Lines { next } => {
                if step >= *next || step == total {
                    let eta = (total - step) as f64 / rate.max(1e-9);
                    eprintln!(
                        "{} step {step}/{total} | loss {loss:.4e}{val} | {rate:.1} it/s | ETA {eta:.0} s",
                        self.name
                    );
                    *next = step + (total / 10).max(1);
                }
            }
        }
    }

    /// The stage ended: the bar stays on screen with its last values.
    pub(crate) fn finish(&mut self) {
        if let Show::Bar(bar) = &self.show {
            bar.finish();
        }
    }
}
