"""Live progress of a running notebook on the terminal, for scripts/run_notebooks.py.

The runner feeds every iopub message of the running cell to `Reporter.message`; lib/view/progress.ts puts a bar's
state into its display's metadata under "ifsq_progress" (label, step, total, rate, etaS, metrics, finished) and its
one-line text into text/plain. The reporter prints, prefixed with "  [<notebook>]":
  - which cell runs, "cell 4 (running 2 s): <first source line>", once the cell has run for 2 s (quick cells stay
    silent), and again every 6 intervals while it runs with no new progress;
  - the newest progress line of that cell: "cell 4: tokenizer ab12: 120/1000 (12.0%) · 35 steps/s · ETA 0:25 · loss=…";
at most one such line per `every_s` (`tick()` is called about once a second), plus each bar's final line at once.
"""
import time

METADATA_KEY = "ifsq_progress"  # lib/view/progress.ts PROGRESS_METADATA_KEY
ANNOUNCE_AFTER_S = 2.0


def first_line(source, limit=80):
    """The first non-blank line of a cell's source, cut to limit characters."""
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[:limit - 1] + "…"
    return ""


def progress_of(msg):
    """(state dict, text line) of a progress display message, or None for any other message."""
    if msg.get("msg_type") not in ("display_data", "update_display_data"):
        return None
    content = msg.get("content", {})
    state = content.get("metadata", {}).get(METADATA_KEY)
    if not isinstance(state, dict):
        return None
    text = content.get("data", {}).get("text/plain")
    if not isinstance(text, str):
        text = "%s: %s/%s" % (state.get("label"), state.get("step"), state.get("total"))
    return state, text.strip()


class Reporter:
    """Throttled progress lines of one notebook; write(line) prints one line."""

    def __init__(self, name, every_s, write, clock=time.monotonic):
        self.name = name
        self.every_s = every_s
        self.write = write
        self.clock = clock
        self.cell = None  # (label, first line, started at)
        self.announced_at = None
        self.last_line_at = float("-inf")
        self.progress = None  # newest progress text of the running cell
        self.printed_progress = None
        self.lines = 0

    def _emit(self, text):
        self.write("  [%s] %s" % (self.name, text))
        self.last_line_at = self.clock()
        self.lines += 1

    def cell_started(self, label, source):
        self.cell = (label, first_line(source), self.clock())
        self.announced_at = None
        self.progress = self.printed_progress = None

    def cell_finished(self):
        self.cell = None

    def message(self, msg):
        found = progress_of(msg)
        if found is None or self.cell is None or self.every_s <= 0:
            return
        state, text = found
        self.progress = text
        if state.get("finished") and text != self.printed_progress:
            self._emit("%s: %s" % (self.cell[0], text))  # a bar's final line is always shown
            self.printed_progress = text

    def tick(self):
        """Prints at most one line when every_s has passed since the last one."""
        if self.cell is None or self.every_s <= 0:
            return
        now = self.clock()
        if now - self.last_line_at < self.every_s:
            return
        label, line, started = self.cell
        running = now - started
        if self.announced_at is None and running >= ANNOUNCE_AFTER_S:
            self._emit("%s (running %.0f s): %s" % (label, running, line))
            self.announced_at = now
        elif self.progress is not None and self.progress != self.printed_progress:
            self._emit("%s: %s" % (label, self.progress))
            self.printed_progress = self.progress
        elif self.announced_at is not None and now - self.last_line_at >= 6 * self.every_s:
            self._emit("%s (running %.0f s): %s" % (label, running, line))
            self.announced_at = now
