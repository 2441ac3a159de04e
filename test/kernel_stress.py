#!/usr/bin/python3
"""Kernel stress test: a cell streams display updates at a high rate while a second client floods the kernel with
shell and control requests. Run with Debian's /usr/bin/python3 (jupyter_client); test/kernel-stress.test.ts calls it.

  kernel_stress.py [--kernel project|unpatched] [--seconds 20] [--interval-ms 5] [--max-outstanding 500] [--stall-seconds 60] [--drain-seconds 600] [--json]

--kernel project runs .jupyter/kernels/tslab (scripts/tslab-kernel.js, sends serialized); --kernel unpatched runs
node_modules/tslab/bin/tslab directly (tslab 1.0.22 as published), to show that the test fails without the fix.

The cell first starts the wasm backend (as every notebook does: its Node build re-throws uncaught errors, so a dropped
send kills the kernel), then for --seconds updates one display and prints a line every millisecond or so. Meanwhile
the second client sends, round robin every --interval-ms, kernel_info / complete / inspect / comm_info on the shell
channel and kernel_info on the control channel (faster than the kernel answers them: the backlog is answered after
the flood, as long as replies keep coming — a fail after --stall-seconds without a reply, or --drain-seconds in all;
a loaded machine answers the same backlog more slowly, a dropped reply never comes). Passes (exit 0) when the kernel is alive at the end, the cell's
execute_reply is "ok", and every request got its reply. Prints one JSON summary line with --json.
"""
import argparse
import json
import os
import queue
import shutil
import sys
import tempfile
import time

from jupyter_client import KernelManager
from jupyter_client.session import Session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CELL_SETUP = """import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
await tf.setBackend("wasm");
await tf.ready();
console.log("backend " + tf.getBackend());"""

CELL_STREAM = """import * as tslab from "tslab";
{
  const display = tslab.newDisplay();
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < %(ms)d) {
    n++;
    display.text("update " + n + " at " + (Date.now() - t0) + " ms");
    if (n %% 4 === 0) console.log("line " + n);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  console.log("STREAM_DONE " + n);
}"""

REQUESTS = [
    ("shell", "kernel_info_request", {}),
    ("shell", "complete_request", {"code": "Math.ma", "cursor_pos": 7}),
    ("control", "kernel_info_request", {}),
    ("shell", "inspect_request", {"code": "Math.max", "cursor_pos": 6, "detail_level": 0}),
    ("shell", "comm_info_request", {"target_name": "jupyter.widget"}),
]


def kernel_dir(kind, tmp):
    """A kernelspec folder for JUPYTER_PATH: the project's, or one that runs the published tslab."""
    if kind == "project":
        return os.path.join(ROOT, ".jupyter")
    spec = os.path.join(tmp, "kernels", "tslab")
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w") as f:
        json.dump({"argv": ["node", os.path.join(ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel",
                            "--config-path", "{connection_file}"],
                   "display_name": "tslab (unpatched)", "language": "typescript"}, f)
    return tmp


def drain(client, sink, timeout=0.0):
    """Moves every reply waiting on the shell and control channels into sink (their parents' msg_ids)."""
    for get in (client.get_shell_msg, client.get_control_msg):
        while True:
            try:
                msg = get(timeout=timeout)
            except queue.Empty:
                break
            sink.append(msg["parent_header"].get("msg_id"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", choices=["project", "unpatched"], default="project")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--interval-ms", type=float, default=5.0)
    ap.add_argument("--max-outstanding", type=int, default=500,
                    help="unanswered requests at most; a loaded kernel answers slowly, and beyond ZeroMQ's high-water "
                         "marks (1000) messages are dropped by the transport, not by the kernel (default 500)")
    ap.add_argument("--stall-seconds", type=float, default=60.0,
                    help="after the flood, give up when no reply came for this long (default 60)")
    ap.add_argument("--drain-seconds", type=float, default=600.0,
                    help="how long to wait after the flood for the last replies")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="kernel-stress-")
    log_path = os.path.join(tmp, "kernel.log")
    os.environ["JUPYTER_PATH"] = kernel_dir(args.kernel, tmp)
    result = {"kernel": args.kernel, "seconds": args.seconds, "interval_ms": args.interval_ms}
    km = KernelManager(kernel_name="tslab")
    with open(log_path, "w") as log:
        km.start_kernel(cwd=ROOT, stdout=log, stderr=log)
    cell = flood = None
    try:
        cell = km.client()
        cell.start_channels()
        cell.wait_for_ready(timeout=120)
        setup = cell.execute_interactive(CELL_SETUP, timeout=180, output_hook=lambda m: None)
        if setup["content"]["status"] != "ok":
            raise RuntimeError("setup cell failed: %r" % setup["content"])

        # its own session: clients that share one have the same ZeroMQ identity, and replies go to only one of them
        flood = km.client(session=Session(key=km.session.key))
        flood.start_channels()
        flood.wait_for_ready(timeout=60)
        replies = []

        exec_id = cell.execute(CELL_STREAM % {"ms": int(args.seconds * 1000)})
        sent, t0, i = [], time.monotonic(), 0
        deadline = t0 + args.seconds
        while time.monotonic() < deadline and km.is_alive():
            time.sleep(args.interval_ms / 1000.0)
            drain(flood, replies)
            if len(sent) - len(replies) >= args.max_outstanding:
                continue  # ZeroMQ drops messages beyond its queues' high-water marks (1000): stay below them
            channel, msg_type, content = REQUESTS[i % len(REQUESTS)]
            msg = flood.session.msg(msg_type, content)
            getattr(flood, channel + "_channel").send(msg)
            sent.append((msg["header"]["msg_id"], channel, msg_type))
            i += 1

        if not km.is_alive():
            result["died_after_s"] = round(time.monotonic() - t0, 1)
        # After the flood: wait for the cell's execute_reply and for every reply, as long as replies keep coming
        # (on a loaded machine the kernel answers the backlog slowly, but it must answer all of it): give up only after
        # --stall-seconds without any new reply, or --drain-seconds in all.
        flood_end = time.monotonic()
        exec_status, last_progress, wanted = None, flood_end, {s[0] for s in sent}
        while km.is_alive() and time.monotonic() < flood_end + args.drain_seconds \
                and time.monotonic() < last_progress + args.stall_seconds:
            if exec_status is None:
                try:
                    msg = cell.get_shell_msg(timeout=0.05)
                    if msg["parent_header"].get("msg_id") == exec_id:
                        exec_status = msg["content"]["status"]
                        last_progress = time.monotonic()
                except queue.Empty:
                    pass
            before = len(replies)
            drain(flood, replies, timeout=0.05)
            if len(replies) > before:
                last_progress = time.monotonic()
            if exec_status is not None and len(set(replies) & wanted) >= len(sent):
                break
        result["drain_s"] = round(time.monotonic() - flood_end, 1)
        answered = set(replies)
        missing = [s for s in sent if s[0] not in answered]
        by_type = {}
        for _, channel, msg_type in sent:
            key = "%s/%s" % (channel, msg_type)
            by_type[key] = by_type.get(key, 0) + 1
        result.update(alive=km.is_alive(), exec_status=exec_status, sent=len(sent), answered=len(sent) - len(missing),
                      missing=len(missing), sent_by_type=by_type,
                      missing_examples=["%s/%s" % (c, t) for _, c, t in missing[:5]])
    except Exception as e:  # a kernel that died mid-setup, a timeout
        result.update(alive=km.is_alive(), error="%s: %s" % (type(e).__name__, e))
    finally:
        for c in (cell, flood):
            if c is not None:
                c.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
    with open(log_path) as f:
        log = f.read()
    result["kernel_log_tail"] = log[-1500:]
    shutil.rmtree(tmp, ignore_errors=True)
    ok = result.get("alive") and result.get("exec_status") == "ok" and result.get("missing") == 0 \
        and not result.get("error") and result.get("sent", 0) > 0
    result["passed"] = bool(ok)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print("%s: %s" % (k, v))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
