#!/usr/bin/python3
"""Headless notebook runner for the tslab kernel (run with Debian's /usr/bin/python3; see scripts/run-notebooks.sh).

Executes each notebook top to bottom with nbclient and a per-cell timeout. A notebook fails when
  - a cell's execute_reply has status "error": thrown errors, TypeScript type errors, rejected awaited promises,
    bad imports (tslab puts the reason only on the cell's stderr, so that is printed with the cell's source);
  - a cell times out or the kernel dies; the report then ends with the last lines of the kernel's own log
    (<out>/<name>.kernel.log: its stdout/stderr, where a crash such as "Socket is busy writing … EBUSY" lands);
  - an error happens asynchronously after a cell returned (a throwing timer, an un-awaited rejected promise), or the
    kernel dies after the last cell. The runner runs a hidden first cell that records `uncaughtException` /
    `unhandledRejection` in the kernel, and a hidden last cell that waits until the timers and child processes the
    notebook left pending have ended (at most --settle seconds, 60 by default; what is still pending then is named in
    the report); then it waits --grace seconds and checks that the kernel process is alive and answers kernel_info,
    and once more when the notebook is done, just before the kernel is shut down. It also scans every cell's stderr for tslab's own
    "UncaughtException" / "Unhandled…" lines;
  - the emulated front end (nb_frontend.py; on unless --no-frontend) got no reply to one of its requests;
  - a cell that calls a view function (show / table / image / markdown) at the start of a line produced fewer
    display outputs than it has such lines: an output lost on its way (a conclusion cell that ran but shows nothing)
    must not pass as a finished notebook.
While cells run, a second client with its own session plays a JupyterLab tab: every --frontend-ms it sends
kernel_info / complete / inspect / comm_info (shell) or kernel_info (control), as a user's front end does; a kernel
that drops replies or dies while a cell streams output fails here, not only in the lab.
Progress (nb_progress.py): which cell runs and the training bars' lines (step/steps, rate, ETA, loss), at most one line
per notebook every --progress-every seconds plus each bar's final line, prefixed with the notebook's name.
The hidden cells are removed again before the executed notebook is written to <out>/<name>.ipynb and <name>.html
(also on failure, for diagnosis). Each notebook gets IFSQ_FIGURE_DIR=<figures>/<name> (emptied first).
With --jobs N, N notebooks run at once (one kernel each); reports are printed as notebooks finish.
On SIGINT/SIGTERM the runner stops every kernel and the processes it started, runs no further notebook, prints what it
stopped, and exits with 128 + the signal (class Stopper). Kernels exit on their own when the runner is gone, even after
a SIGKILL (the launcher watches its parent: scripts/watch-parent.js).
The last line of output is exactly "N passed, N failed"; the exit status is 1 when anything failed.
"""
import argparse
import asyncio
import glob
import json
import os
import re
import shutil
import signal
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

from nb_frontend import FrontEnd
from nb_progress import Reporter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "__IFSQ_RUNNER_ASYNC_ERRORS__"
ASYNC_PATTERN = re.compile(r"UncaughtException|Unhandled")

PRELUDE = """{
  const g = globalThis as any;
  if (!g.__ifsqRunnerErrors) {
    g.__ifsqRunnerErrors = [];
    g.__ifsqRunnerPending = ((process as any).getActiveResourcesInfo?.() ?? []).filter((r: string) => r === "Timeout" || r === "ProcessWrap").length;
    const fmt = (e: any): string => (e && e.stack ? String(e.stack) : String(e));
    process.on("uncaughtException", (e) => { g.__ifsqRunnerErrors.push("UncaughtException: " + fmt(e)); });
    process.on("unhandledRejection", (r) => { g.__ifsqRunnerErrors.push("UnhandledPromiseRejection: " + fmt(r)); });
  }
}"""

# The hidden last cell: waits (at least 0.5 s, at most SETTLE_MS) until no more timers and child processes are pending
# than when the prelude ran (both hold the event loop: un-ref'd ones do not count), so a timer or a child-process
# callback that throws or kills the kernel after the last cell does it while the runner still watches.
SENTINEL = """{
  const g = globalThis as any;
  const pending = (): string[] => ((process as any).getActiveResourcesInfo?.() ?? []).filter((r: string) => r === "Timeout" || r === "ProcessWrap");
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 500));
  while (pending().length > (g.__ifsqRunnerPending ?? 0) && Date.now() - t0 < SETTLE_MS) await new Promise((resolve) => setTimeout(resolve, 50));
  const left = pending();
  console.log("%s" + JSON.stringify({ errors: g.__ifsqRunnerErrors ?? [], waitedMs: Date.now() - t0, pending: left.length - (g.__ifsqRunnerPending ?? 0),
    timers: left.filter((r) => r === "Timeout").length, children: left.filter((r) => r === "ProcessWrap").length }));
}""" % MARKER


def stream_text(cell, name):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == name)


def error_text(cell):
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            parts.append("%s: %s\n%s" % (o.get("ename", ""), o.get("evalue", ""),
                                         "\n".join(o.get("traceback", []))))
    return "\n".join(parts)


# Stack frames of the kernel's own machinery: noise in a failure report.
INTERNAL_FRAME = re.compile(r"^\s+at .*(node_modules/tslab/|node:vm|node:internal/|sigintHandlersWrap)")


def drop_internal_frames(text):
    return "\n".join(line for line in text.split("\n") if not INTERNAL_FRAME.search(line))


def tail(text, limit=6000):
    return text if len(text) <= limit else "…(%d characters cut)…\n%s" % (len(text) - limit, text[-limit:])


def indent(text):
    return "\n".join("    " + line for line in text.rstrip("\n").split("\n"))


class Failure(Exception):
    def __init__(self, summary, details=""):
        super().__init__(summary)
        self.summary = summary
        self.details = details


class KernelStartError(Exception):
    """The kernel did not start or answer before any cell was sent (e.g. tslab's zeromq socket raced its own bind under
    load: "Socket is blocked by a bind or unbind operation", then no reply for the startup timeout). Nothing of the
    notebook ran, so run_one starts a new kernel once."""


def describe_cell(cell, label):
    out = ["  --- %s source ---" % label, indent(cell.source)]
    err = stream_text(cell, "stderr") + error_text(cell)
    if err.strip():
        out += ["  --- %s stderr ---" % label, indent(tail(drop_internal_frames(err)))]
    else:
        out += ["  --- %s: no stderr; stdout tail ---" % label, indent(tail(stream_text(cell, "stdout"), 2000) or "(none)")]
    return "\n".join(out)


class RunnerClient(NotebookClient):
    """A NotebookClient that also shows every iopub message of the running cell to a Reporter (live progress)."""
    reporter = None

    def process_message(self, msg, cell, cell_index):
        if self.reporter is not None:
            self.reporter.message(msg)
        return super().process_message(msg, cell, cell_index)


FINAL_CHECK = "the runner's final check (after the last cell)"


def cell_label(index, last):
    if index == 0:
        return "the runner's first hidden cell"
    return FINAL_CHECK if index == last else "cell %d" % index  # 1-based position in the notebook


async def tick_every_second(reporter):
    while True:
        await asyncio.sleep(1.0)
        reporter.tick()


async def check_alive_after(client, grace_s):
    """Raises Failure unless the kernel is still running grace_s after the final check and answers kernel_info."""
    await asyncio.sleep(grace_s)
    if not await ensure_async(client.km.is_alive()):
        raise Failure("the kernel died after the last cell (found dead %.1f s after the runner's final check)" % grace_s)
    msg_id = await ensure_async(client.kc.kernel_info())
    try:
        await asyncio.wait_for(client.async_wait_for_reply(msg_id), 30)
    except (asyncio.TimeoutError, DeadKernelError) as e:
        raise Failure("the kernel did not answer kernel_info after the last cell (%s)" % (type(e).__name__,))


def frontend_failure(fe):
    missing = fe["missing"]
    examples = ", ".join("%s sent during %s, %.0f s ago" % m for m in missing[:5])
    newest = "; ".join("newest %s reply %.0f s ago, during %s" % (ch, age, where)
                       for ch, (age, where) in sorted(fe["newest_reply"].items())) or "no reply at all"
    return Failure("the emulated front end got no reply to %d of %d requests" % (len(missing), fe["sent"]),
                   "    e.g. %s\n    %s" % (examples, newest))


async def execute(nb, path, args, kernel_kwargs, reporter):
    """Executes nb in place (with the hidden cells); returns ({cell position: seconds}, front-end summary or None);
    raises Failure."""
    # iopub_timeout: how long a cell's outputs may trail its execute_reply (nbclient's default 4 s lost the last cells'
    # outputs of notebook 04 at quick, queued behind the status messages of requests answered after a long blocking cell)
    client = RunnerClient(nb, timeout=args.timeout, startup_timeout=args.startup_timeout, kernel_name=args.kernel,
                          iopub_timeout=60, resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    client.reporter = reporter
    # kernel_kwargs: its environment, and a log for its own stdout/stderr (not cell output: shutdown noise, crashes).
    try:
        return await execute_in(client, nb, args, kernel_kwargs, reporter)
    except Failure:
        raise
    except Exception as e:
        if client.cells_sent == 0:
            raise KernelStartError("%s: %s" % (type(e).__name__, e)) from e
        raise


async def execute_in(client, nb, args, kernel_kwargs, reporter):
    """execute's body: starts the kernel, runs the cells; counts the cells sent in client.cells_sent."""
    timings = {}
    client.cells_sent = 0
    final_done = time.monotonic()
    async with client.async_setup_kernel(**kernel_kwargs):
        STOPPER.started(client.km, reporter.name)
        msg_id = await ensure_async(client.kc.kernel_info())
        info = await client.async_wait_for_reply(msg_id)
        if info is not None and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        frontend = FrontEnd(client.km, args.frontend_ms / 1000.0) if args.frontend_ms > 0 else None
        ticker = asyncio.ensure_future(tick_every_second(reporter))
        failure = None
        fe = None
        try:
            if frontend is not None:
                frontend.start()
            last = len(nb.cells) - 1
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                hidden = index == 0 or index == last
                label = cell_label(index, last)
                if frontend is not None:
                    frontend.where = label
                if not hidden:
                    reporter.cell_started(label, cell.source)
                client.cells_sent += 1
                started = time.monotonic()
                try:
                    await client.async_execute_cell(cell, index, execution_count=client.cells_sent)
                except CellTimeoutError:
                    raise Failure("%s timed out after %s s" % (label, args.timeout), describe_cell(cell, label))
                except DeadKernelError as e:
                    if index == last:  # the hidden cell's source says nothing; the kernel log (appended) does
                        raise Failure("the kernel died after the last cell, while the runner's final check waited "
                                      "for pending timers and child processes (%s)" % e)
                    raise Failure("the kernel died in %s (%s)" % (label, e), describe_cell(cell, label))
                except CellExecutionError:
                    raise Failure("%s failed" % label, describe_cell(cell, label))
                finally:
                    reporter.cell_finished()
                    if not hidden:
                        timings[index] = time.monotonic() - started
            final_done = time.monotonic()
            if frontend is not None:
                frontend.where = "the liveness check after the last cell"
            await check_alive_after(client, args.grace)
        except Failure as f:
            failure = f
        finally:
            ticker.cancel()
            if frontend is not None:
                # a dead kernel answers nothing: only a live one gets time to answer its backlog
                alive = failure is None and await ensure_async(client.km.is_alive())
                fe = await frontend.stop(args.frontend_drain if alive else 0)
        STOPPER.finished(client.km)
        if failure is None and not await ensure_async(client.km.is_alive()):
            failure = Failure("the kernel died after the last cell (found dead at shutdown, %.1f s after the runner's "
                              "final check)" % (time.monotonic() - final_done))
        if failure is not None:
            raise failure
        if fe is not None and fe["missing"]:
            raise frontend_failure(fe)
    return timings, fe


def check_async(nb):
    """Raises Failure when the sentinel or any cell's stderr shows an asynchronous error."""
    sentinel = nb.cells[-1]
    reported = None
    for line in stream_text(sentinel, "stdout").splitlines():
        if line.startswith(MARKER):
            reported = json.loads(line[len(MARKER):])
    if reported is None:
        raise Failure("the runner's final check produced no report", describe_cell(sentinel, FINAL_CHECK))
    errors = reported["errors"]
    if errors:
        raise Failure("%d asynchronous error(s) after cells returned" % len(errors),
                      indent(tail(drop_internal_frames("\n".join(errors)))))
    for index, cell in enumerate(nb.cells[1:-1]):
        if cell.cell_type == "code" and ASYNC_PATTERN.search(stream_text(cell, "stderr")):
            raise Failure("cell %d's stderr shows an asynchronous error" % (index + 1),
                          describe_cell(cell, "cell %d" % (index + 1)))
    return reported


VIEW_CALL = re.compile(r"^(?:show|table|image|markdown)\(", re.M)
DISPLAY_TYPES = ("display_data", "execute_result")


def check_displays(nb):
    """Raises Failure when a cell shows fewer displays than it has top-level view calls (an output lost in transit)."""
    for index, cell in enumerate(nb.cells[1:-1]):
        if cell.cell_type != "code":
            continue
        expected = len(VIEW_CALL.findall(cell.source))
        got = sum(1 for o in cell.get("outputs", []) if o.get("output_type") in DISPLAY_TYPES)
        if got < expected:
            raise Failure("cell %d calls a view function on %d line(s) but shows %d output(s): outputs were lost"
                          % (index + 1, expected, got), describe_cell(cell, "cell %d" % (index + 1)))


def kernel_log_tail(log_path, lines=40):
    """The last lines of a kernel's own log (where a crash's stack lands), or "" when it is empty."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            text = f.read().strip()
    except OSError:
        return ""
    if not text:
        return ""
    kept = text.split("\n")[-lines:]
    return "  --- kernel log, last %d lines (%s) ---\n%s" % (len(kept), log_path, indent(tail("\n".join(kept))))


def strip_hidden(nb):
    nb.cells = nb.cells[1:-1]
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.get("execution_count") is not None:
                count += 1
                cell.execution_count = count


def write_outputs(nb, out_dir, stem, html):
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, stem + ".ipynb")
    tmp = target + ".tmp"
    nbformat.write(nb, tmp)
    os.replace(tmp, target)
    written = [target]
    if html:
        from nbconvert import HTMLExporter
        body, _ = HTMLExporter().from_notebook_node(nb)
        target = os.path.join(out_dir, stem + ".html")
        with open(target + ".tmp", "w", encoding="utf-8") as f:
            f.write(body)
        os.replace(target + ".tmp", target)
        written.append(target)
    return written


def cpu_model():
    """The CPU's model name (timings are only comparable on the same kind of CPU)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def write_timing(out, stem, record):
    """<out>/<stem>.timing.json: this run's wall time per notebook and cell (read by `npm run bench`), atomically."""
    target = os.path.join(out, stem + ".timing.json")
    with open(target + ".tmp", "w") as f:
        json.dump(record, f, indent=1)
    os.replace(target + ".tmp", target)

def descendants(pid):
    """PIDs of every live descendant of pid (from /proc), children before grandchildren."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out


def running(pid):
    """Whether pid runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] != "Z"
    except OSError:
        return False


def command_of(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            words = f.read().decode(errors="replace").split("\0")
        return " ".join(os.path.basename(w) if i < 2 else w for i, w in enumerate(words) if w)[:100]
    except OSError:
        return "?"


def stop_tree(pid, pgid, wait_s=3.0):
    """SIGTERM to a kernel's process group and to each of its descendants (children that left the group too); SIGKILL
    to what still runs after wait_s. Returns one line per process: "<pid> <command> (<how it ended>)"."""
    procs = [pid] + descendants(pid)
    names = {p: command_of(p) for p in procs}
    for target in ([("group", pgid)] if pgid else []) + [("pid", p) for p in procs]:
        try:
            (os.killpg if target[0] == "group" else os.kill)(target[1], signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and any(running(p) for p in procs):
        time.sleep(0.05)
    how = {}
    for p in procs:
        if running(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
            how[p] = "SIGKILL after %.0f s" % wait_s
        else:
            how[p] = "SIGTERM"
    return ["%d %s (%s)" % (p, names[p], how[p]) for p in procs]


class Stopper:
    """On SIGINT or SIGTERM the runner stops: every running kernel and the processes it started get SIGTERM (then
    SIGKILL), the running notebooks are cancelled, no further notebook starts, what was stopped is printed, and the
    exit status is 128 + the signal. A second signal while stopping kills what is left and exits at once. (Should the
    runner itself be killed with SIGKILL, each kernel notices within a second that its parent is gone and exits:
    scripts/watch-parent.js, used by the kernel launcher; so do the node processes a kernel starts.)"""

    def __init__(self):
        self.kernels = {}  # KernelManager -> notebook name
        self.signum = None
        self.tasks = []
        self.stopped = []  # report lines

    def started(self, km, name):
        if self.signum is not None:
            raise asyncio.CancelledError()
        self.kernels[km] = name

    def finished(self, km):
        self.kernels.pop(km, None)

    def install(self):
        """Handles SIGINT and SIGTERM on the running loop, for all notebooks. nbclient adds its own handlers per kernel
        (a cleanup of that one kernel, then the notebook goes on) and removes them at its end, which also removed this
        one: on this loop, adding or removing a handler for these two signals is ignored from now on."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.on_signal, signum)
        add, remove, ours = loop.add_signal_handler, loop.remove_signal_handler, (signal.SIGINT, signal.SIGTERM)
        loop.add_signal_handler = lambda sig, callback, *a: None if sig in ours else add(sig, callback, *a)
        loop.remove_signal_handler = lambda sig: False if sig in ours else remove(sig)

    def on_signal(self, signum):
        name = signal.Signals(signum).name
        if self.signum is not None:
            print("runner: %s again while stopping: killing what is left and exiting" % name, flush=True)
            for km in list(self.kernels):
                proc = getattr(getattr(km, "provisioner", None), "process", None)
                if proc is not None:
                    for p in [proc.pid] + descendants(proc.pid):
                        try:
                            os.kill(p, signal.SIGKILL)
                        except OSError:
                            pass
            os._exit(128 + signum)
        self.signum = signum
        print("runner: %s received: stopping %d running notebook(s) and their processes; no further notebook runs"
              % (name, len(self.kernels)), flush=True)
        for km, nb in list(self.kernels.items()):
            prov = getattr(km, "provisioner", None)
            proc = getattr(prov, "process", None)
            if proc is None:
                continue
            lines = stop_tree(proc.pid, getattr(prov, "pgid", None))
            self.stopped.append((nb, lines))
            print("runner: stopped %s: kernel %s" % (nb, "; ".join(lines)), flush=True)
        for task in self.tasks:
            task.cancel()


STOPPER = Stopper()


async def run_one(path, args):
    """Runs one notebook; returns (ok, report text)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    fig_dir = os.path.join(args.figures, stem)
    shutil.rmtree(fig_dir, ignore_errors=True)
    os.makedirs(fig_dir, exist_ok=True)
    env = dict(os.environ, IFSQ_FIGURE_DIR=fig_dir)

    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if "id" not in cell:
            cell["id"] = "cell-%d" % i
    nb.cells.insert(0, nbformat.v4.new_code_cell(PRELUDE))
    nb.cells.append(nbformat.v4.new_code_cell(SENTINEL.replace("SETTLE_MS", str(int(args.settle * 1000)))))
    started = time.monotonic()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    failure = None
    timings = {}
    fe = None
    final = None
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, stem + ".kernel.log")
    reporter = Reporter(stem, args.progress_every, lambda line: print(line, flush=True))
    with open(log_path, "w") as kernel_log:
        try:
            for attempt in (1, 2):
                try:
                    timings, fe = await execute(nb, path, args, dict(stdout=kernel_log, stderr=kernel_log, env=env), reporter)
                    break
                except KernelStartError as e:
                    if attempt == 2:
                        raise Failure("could not run: the kernel did not start, twice (%s)" % e)
                    print("  [%s] the kernel did not start (%s); starting a new one" % (stem, e), flush=True)
                    kernel_log.write("\n--- runner: the kernel did not start (%s); starting a new one ---\n" % e)
                    kernel_log.flush()
            final = check_async(nb)
            check_displays(nb)
        except Failure as f:
            failure = f
        except Exception as e:  # protocol errors, …
            failure = Failure("could not run: %s: %s" % (type(e).__name__, e))
    if failure is not None and STOPPER.signum is not None:
        failure = Failure("stopped by %s (%s)" % (signal.Signals(STOPPER.signum).name, failure.summary))
    if failure is not None:
        log = kernel_log_tail(log_path)  # the kernel is shut down: its log is complete
        if log:
            failure.details = (failure.details + "\n" if failure.details else "") + log
    try:
        if os.path.getsize(log_path) == 0:
            os.remove(log_path)
    except OSError:  # the same notebook name twice in one run: the other one's cleanup got there first
        pass
    elapsed = time.monotonic() - started
    strip_hidden(nb)
    try:
        write_outputs(nb, args.out, stem, args.html)
    except Exception as e:
        if failure is None:
            failure = Failure("could not write outputs: %s: %s" % (type(e).__name__, e))
    write_timing(args.out, stem, {
        "notebook": os.path.relpath(path, ROOT), "preset": os.environ.get("IFSQ_PRESET", "quick"), "ok": failure is None,
        "seconds": round(elapsed, 1), "cells": {str(i): round(t, 1) for i, t in sorted(timings.items())},
        "startedAt": started_at, "finishedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu": cpu_model(),
        "jobs": args.jobs,
    })
    rel = os.path.relpath(path)
    slow = ""
    if timings and args.verbose:
        slow = "; slowest cells: " + ", ".join("%d: %.1f s" % (i, t) for i, t in
                                              sorted(timings.items(), key=lambda kv: -kv[1])[:3])
        if final is not None:
            slow += "; final check waited %.1f s" % (final["waitedMs"] / 1000.0)
        if fe is not None:
            slow += "; front end: %d/%d requests answered, slowest reply %s" % (
                fe["answered"], fe["sent"], ", ".join("%s %.2f s" % (k.split("/")[1].replace("_request", ""), v)
                                                      for k, v in sorted(fe["slowest"].items())))
    if failure is None and final is not None and final.get("pending", 0) > 0:
        slow += ("; note: %d timer(s) / child process(es) were still pending when the final check stopped waiting "
                 "after %.0f s (--settle); a later error or exit is not watched" % (final["pending"], final["waitedMs"] / 1000.0))
    if failure is None:
        return True, "ok   %s (%.1f s%s)" % (rel, elapsed, slow)
    report = "FAIL %s (%.1f s): %s" % (rel, elapsed, failure.summary)
    if failure.details:
        report += "\n" + failure.details
    return False, report


def notebook_stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def longest_first(paths, out, preset):
    """Paths sorted by expected seconds, longest first: the last ok run at `preset` (<out>/<stem>.timing.json), else
    notebooks/durations.json ({preset: {stem: seconds}}); unknown notebooks first, in the given order (stable)."""
    table = {}
    try:
        with open(os.path.join(ROOT, "notebooks", "durations.json")) as f:
            table = json.load(f).get(preset, {})
    except (OSError, ValueError):
        pass

    def expected(path):
        stem = notebook_stem(path)
        try:
            with open(os.path.join(out, stem + ".timing.json")) as f:
                t = json.load(f)
            if t.get("ok") and t.get("preset") == preset:
                return float(t["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        v = table.get(stem)
        return float(v) if isinstance(v, (int, float)) else float("inf")

    return sorted(paths, key=lambda p: -expected(p))


async def run_all(paths, args):
    """Runs the notebooks, at most args.jobs at a time; prints each report when its notebook finishes. Returns
    (passed, failed, names of the notebooks stopped or never started because of a signal)."""
    gate = asyncio.Semaphore(max(1, args.jobs))
    counts = {"passed": 0, "failed": 0}
    done = set()

    async def one(path):
        async with gate:
            ok, report = await run_one(path, args)
        counts["passed" if ok else "failed"] += 1
        done.add(path)
        print(report, flush=True)

    STOPPER.install()
    STOPPER.tasks = [asyncio.ensure_future(one(p)) for p in paths]
    await asyncio.gather(*STOPPER.tasks, return_exceptions=True)
    return counts["passed"], counts["failed"], [notebook_stem(p) for p in paths if p not in done]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=int(os.environ.get("IFSQ_CELL_TIMEOUT", "900")),
                        help="seconds per cell (default 900, or $IFSQ_CELL_TIMEOUT)")
    parser.add_argument("--startup-timeout", type=int, default=120, help="seconds for the kernel to start")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "notebooks"),
                        help="folder for executed .ipynb/.html (default build/notebooks)")
    parser.add_argument("--figures", default=os.path.join(ROOT, "build", "figures"),
                        help="figure JSON root; each notebook writes to <figures>/<name> (default build/figures)")
    parser.add_argument("--preset", help="sets IFSQ_PRESET for the kernels (tiny | quick | paper-cpu)")
    parser.add_argument("--no-html", dest="html", action="store_false", help="skip the HTML export")
    parser.add_argument("--kernel", default="tslab", help="kernel name (default tslab)")
    parser.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("IFSQ_NOTEBOOK_JOBS", "1")),
                        help="notebooks run at the same time, one kernel each (default 1, or $IFSQ_NOTEBOOK_JOBS)")
    parser.add_argument("--longest-first", action="store_true",
                        help="start the notebooks in order of their expected time, longest first (with --jobs N the "
                             "last notebooks to finish are then short ones): the last ok run's time in --out at this "
                             "preset, else notebooks/durations.json")
    parser.add_argument("--progress-every", type=float, default=10.0,
                        help="seconds between live progress lines per notebook (default 10; 0 = none)")
    parser.add_argument("--frontend-ms", type=float, default=100.0,
                        help="ms between the emulated front end's requests while cells run (default 100; 0 = off)")
    parser.add_argument("--no-frontend", dest="frontend_ms", action="store_const", const=0.0,
                        help="no emulated front end")
    parser.add_argument("--frontend-drain", type=float, default=30.0,
                        help="seconds a live kernel gets to answer the front end's last requests (default 30)")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds the final check waits at most for timers and child processes left pending "
                             "(default 60); what is still pending then is named in the report")
    parser.add_argument("--grace", type=float, default=1.0,
                        help="seconds after the final check before the kernel must still be alive (default 1)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print the slowest cells, the final check's wait and the front end's numbers")
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    args.figures = os.path.abspath(args.figures)
    if args.preset:
        os.environ["IFSQ_PRESET"] = args.preset

    paths = args.notebooks or sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        print("no such notebook: %s" % ", ".join(missing), file=sys.stderr)
        print("0 passed, %d failed" % len(missing))
        return 1
    if not paths:
        print("no notebooks found under notebooks/", file=sys.stderr)
    if args.longest_first and len(paths) > 1:
        paths = longest_first(paths, args.out, os.environ.get("IFSQ_PRESET", "quick"))
        print("order (longest first): %s" % ", ".join(notebook_stem(p) for p in paths), flush=True)
    passed, failed, not_finished = asyncio.run(run_all(paths, args))
    if STOPPER.signum is not None:
        stopped = sorted(nb for nb, _ in STOPPER.stopped)
        print("runner: stopped by %s: %s stopped, %s not run" % (
            signal.Signals(STOPPER.signum).name, ", ".join(stopped) or "no notebook",
            ", ".join(n for n in not_finished if n not in stopped) or "none"), flush=True)
        print("%d passed, %d failed" % (passed, failed + len(not_finished)), flush=True)
        return 128 + STOPPER.signum
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
