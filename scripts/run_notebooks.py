#!/usr/bin/python3
"""Headless notebook runner for the tslab kernel (run with Debian's /usr/bin/python3; see scripts/run-notebooks.sh).

Executes each notebook top to bottom with nbclient and a per-cell timeout. A notebook fails when
  - a cell's execute_reply has status "error": thrown errors, TypeScript type errors, rejected awaited promises,
    bad imports (tslab puts the reason only on the cell's stderr, so that is printed with the cell's source);
  - a cell times out or the kernel dies;
  - an error happens asynchronously after a cell returned (a throwing timer, an un-awaited rejected promise).
    The runner runs a hidden first cell that records `uncaughtException` / `unhandledRejection` in the kernel, and a
    hidden last cell that waits 0.5 s and reports what was recorded; it also scans every cell's stderr for tslab's
    own "UncaughtException" / "Unhandled…" lines.
The hidden cells are removed again before the executed notebook is written to <out>/<name>.ipynb and <name>.html
(also on failure, for diagnosis). Each notebook gets IFSQ_FIGURE_DIR=<figures>/<name> (emptied first).
With --jobs N, N notebooks run at once (one kernel each); reports are printed as notebooks finish.
The last line of output is exactly "N passed, N failed"; the exit status is 1 when anything failed.
"""
import argparse
import asyncio
import glob
import json
import os
import re
import shutil
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "__IFSQ_RUNNER_ASYNC_ERRORS__"
ASYNC_PATTERN = re.compile(r"UncaughtException|Unhandled")

PRELUDE = """{
  const g = globalThis as any;
  if (!g.__ifsqRunnerErrors) {
    g.__ifsqRunnerErrors = [];
    const fmt = (e: any): string => (e && e.stack ? String(e.stack) : String(e));
    process.on("uncaughtException", (e) => { g.__ifsqRunnerErrors.push("UncaughtException: " + fmt(e)); });
    process.on("unhandledRejection", (r) => { g.__ifsqRunnerErrors.push("UnhandledPromiseRejection: " + fmt(r)); });
  }
}"""

SENTINEL = """await new Promise((resolve) => setTimeout(resolve, 500));
console.log("%s" + JSON.stringify((globalThis as any).__ifsqRunnerErrors ?? []));""" % MARKER


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


def describe_cell(cell, label):
    out = ["  --- %s source ---" % label, indent(cell.source)]
    err = stream_text(cell, "stderr") + error_text(cell)
    if err.strip():
        out += ["  --- %s stderr ---" % label, indent(tail(drop_internal_frames(err)))]
    else:
        out += ["  --- %s: no stderr; stdout tail ---" % label, indent(tail(stream_text(cell, "stdout"), 2000) or "(none)")]
    return "\n".join(out)


async def execute(nb, path, timeout, startup_timeout, kernel_name, kernel_kwargs):
    """Executes nb in place (with the hidden cells); returns {cell position: seconds}; raises Failure."""
    client = NotebookClient(nb, timeout=timeout, startup_timeout=startup_timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    timings = {}
    count = 0
    # kernel_kwargs: its environment, and a log for its own stdout/stderr (not cell output: shutdown noise, crashes).
    async with client.async_setup_kernel(**kernel_kwargs):
        msg_id = await ensure_async(client.kc.kernel_info())
        info = await client.async_wait_for_reply(msg_id)
        if info is not None and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        last = len(nb.cells) - 1
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            hidden = index == 0 or index == last
            label = "hidden runner cell" if hidden else "cell %d" % index  # 1-based position in the notebook
            count += 1
            started = time.monotonic()
            try:
                await client.async_execute_cell(cell, index, execution_count=count)
            except CellTimeoutError:
                raise Failure("%s timed out after %s s" % (label, timeout), describe_cell(cell, label))
            except DeadKernelError as e:
                raise Failure("the kernel died in %s (%s)" % (label, e), describe_cell(cell, label))
            except CellExecutionError:
                raise Failure("%s failed" % label, describe_cell(cell, label))
            finally:
                if not hidden:
                    timings[index] = time.monotonic() - started
    return timings


def check_async(nb):
    """Raises Failure when the sentinel or any cell's stderr shows an asynchronous error."""
    sentinel = nb.cells[-1]
    reported = None
    for line in stream_text(sentinel, "stdout").splitlines():
        if line.startswith(MARKER):
            reported = json.loads(line[len(MARKER):])
    if reported is None:
        raise Failure("the runner's final check produced no report", describe_cell(sentinel, "hidden runner cell"))
    if reported:
        raise Failure("%d asynchronous error(s) after cells returned" % len(reported),
                      indent(tail(drop_internal_frames("\n".join(reported)))))
    for index, cell in enumerate(nb.cells[1:-1]):
        if cell.cell_type == "code" and ASYNC_PATTERN.search(stream_text(cell, "stderr")):
            raise Failure("cell %d's stderr shows an asynchronous error" % (index + 1),
                          describe_cell(cell, "cell %d" % (index + 1)))


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
    nb.cells.append(nbformat.v4.new_code_cell(SENTINEL))
    started = time.monotonic()
    failure = None
    timings = {}
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, stem + ".kernel.log")
    with open(log_path, "w") as kernel_log:
        try:
            timings = await execute(nb, path, args.timeout, args.startup_timeout, args.kernel,
                                    dict(stdout=kernel_log, stderr=kernel_log, env=env))
            check_async(nb)
        except Failure as f:
            failure = f
        except Exception as e:  # kernel could not start, protocol errors, …
            failure = Failure("could not run: %s: %s" % (type(e).__name__, e))
    if failure is not None and not failure.details:
        with open(log_path) as f:
            log = f.read().strip()
        if log:
            failure.details = "  --- kernel log (%s) ---\n%s" % (log_path, indent(tail(log)))
    if os.path.getsize(log_path) == 0:
        os.remove(log_path)
    elapsed = time.monotonic() - started
    strip_hidden(nb)
    try:
        write_outputs(nb, args.out, stem, args.html)
    except Exception as e:
        if failure is None:
            failure = Failure("could not write outputs: %s: %s" % (type(e).__name__, e))
    rel = os.path.relpath(path)
    slow = ""
    if timings and args.verbose:
        slow = "; slowest cells: " + ", ".join("%d: %.1f s" % (i, t) for i, t in
                                              sorted(timings.items(), key=lambda kv: -kv[1])[:3])
    if failure is None:
        return True, "ok   %s (%.1f s%s)" % (rel, elapsed, slow)
    report = "FAIL %s (%.1f s): %s" % (rel, elapsed, failure.summary)
    if failure.details:
        report += "\n" + failure.details
    return False, report


async def run_all(paths, args):
    """Runs the notebooks, at most args.jobs at a time; prints each report when its notebook finishes."""
    gate = asyncio.Semaphore(max(1, args.jobs))
    counts = {"passed": 0, "failed": 0}

    async def one(path):
        async with gate:
            ok, report = await run_one(path, args)
        counts["passed" if ok else "failed"] += 1
        print(report, flush=True)

    await asyncio.gather(*(one(p) for p in paths))
    return counts["passed"], counts["failed"]


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
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the slowest cells")
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
    passed, failed = asyncio.run(run_all(paths, args))
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
