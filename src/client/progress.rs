//! Progress bars on stderr (indicatif) for [`Event`]s: one line per file, a spinner while it
//! is being prepared, then a byte bar while it downloads. Warnings always go to stderr.

use std::cell::RefCell;
use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Event;

/// Draws [`Event`]s; hidden bars draw nothing (but warnings are still printed).
pub struct Bars {
    multi: MultiProgress,
    visible: bool,
    bars: RefCell<HashMap<String, ProgressBar>>,
}

impl Bars {
    /// Bars on stderr when `visible` (pass `!quiet && stderr().is_terminal()`).
    pub fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Bars {
            multi: MultiProgress::with_draw_target(target),
            visible,
            bars: RefCell::new(HashMap::new()),
        }
    }

    fn bar(&self, file: &str) -> ProgressBar {
        self.bars
            .borrow_mut()
            .entry(file.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            })
            .clone()
    }

    fn say(&self, line: &str) {
        if self.visible {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Show one event.
    pub fn handle(&self, event: &Event<'_>) {
        match *event {
            Event::Warning { message } => self.say(&format!("warning: {message}")),
            _ if !self.visible => {}
            Event::LoggedIn { api_url, .. } => {
                let _ = self.multi.println(format!("logged in to {api_url}"));
            }
            Event::SessionCreated { session_id } => {
                let _ = self
                    .multi
                    .println(format!("download session {session_id} created"));
            }
            Event::Status { file, status } => {
                let bar = self.bar(file);
                bar.set_message(format!("{file}: {status}"));
                bar.tick();
            }
            Event::DownloadStarted { file, size } => {
                let bar = self.bar(file);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                if let Some(size) = size {
                    bar.set_length(size);
                }
                bar.set_message(file.to_string());
            }
            Event::Progress { file, bytes } => self.bar(file).set_position(bytes),
            Event::Verified {
                file, algorithm, ..
            } => {
                self.bar(file)
                    .finish_with_message(format!("{file}: {algorithm} verified"));
            }
        }
    }

    /// Remove the bars (before printing the summary).
    pub fn clear(&self) {
        for bar in self.bars.borrow().values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}
