#!/usr/bin/python3
"""Edit-while-training test: a cell streams output for --seconds while the library it imported is saved the ways a
researcher saves it; the kernel must survive, the cell finish ok, and the next cell see the new code. Run with
Debian's /usr/bin/python3 (jupyter_client); test/kernel-edit.test.ts calls it.

  kernel_edit.py [--launcher scripts/tslab-kernel.js] [--seconds 8] [--edits contents,rename,churn] [--json]

The kernel runs in a scratch folder under build/ (node_modules resolve from the clone) holding lib/probe.ts and
lib/index.ts (which re-exports probe). Cell 1 starts the wasm backend (its Node build re-throws uncaught errors, as in
every notebook) and imports ./lib/index; cell 2 prints a line every 20 ms for --seconds; meanwhile this script
  1. saves lib/probe.ts as Jupyter's contents manager does (jupyter_server's atomic_writing: a hidden copy
     `.~probe.ts` beside the file, the file rewritten in place, the copy deleted);
  2. saves it as many editors do (a temporary file written, then renamed over the original);
  3. creates and deletes a file beside the notebook;
  4. churns the scratch folder's node_modules (a package folder created, renamed, deleted: what an npm install does to
     a watched failed-lookup location).
Cell 3 imports ./lib/index again and prints probe's version: 3 (the last save) when edits take effect.
--launcher picks the kernel launcher (e.g. a copy of an older scripts/tslab-kernel.js) to show the test fails without
the fix. Prints one JSON summary with --json; exit 0 when the kernel lived, cells 2 and 3 were ok and cell 3 saw 3.
"""
import argparse
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time

from jupyter_client import KernelManager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CELL_SETUP = """import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
await tf.setBackend("wasm");
await tf.ready();
import { version, describe } from "./lib/index";
console.log("backend " + tf.getBackend() + " version " + version + " " + describe());"""

CELL_STREAM = """{
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < %(ms)d) {
    n++;
    console.log("step " + n);
    const until = Date.now() + 15;
    while (Date.now() < until) {}  // a training step keeps the event loop busy
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  console.log("STREAM_DONE " + n);
}"""

CELL_AFTER = """import { version as version2, describe as describe2 } from "./lib/index";
console.log("AFTER " + version2 + " " + describe2());"""


def probe_source(version):
    return "/** A scratch library file of the edit-while-training test. */\nexport const version: number = %d;\n" % version


INDEX = 'export { version } from "./probe";\nimport { version } from "./probe";\nexport function describe(): string { return "index sees " + version; }\n'


def contents_manager_save(path, text):
    """jupyter_server FileContentsManager.save with use_atomic_writing (its default): fileio.atomic_writing copies the
    file to a hidden `.~name` beside it, rewrites the file in place, then removes the copy."""
    tmp = os.path.join(os.path.dirname(path), ".~" + os.path.basename(path))
    shutil.copy2(path, tmp)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.remove(tmp)


def rename_save(path, text):
    """An editor's save: a temporary file beside the original, renamed over it."""
    tmp = path + ".swp-%d" % os.getpid()
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def churn(scratch):
    """A file created and deleted beside the notebook; a package created, renamed and deleted under node_modules."""
    beside = os.path.join(scratch, "scratch-notes.txt")
    with open(beside, "w") as f:
        f.write("x")
    os.remove(beside)
    pkg = os.path.join(scratch, "node_modules", "churn-pkg")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "package.json"), "w") as f:
        f.write('{"name":"churn-pkg","version":"1.0.0","types":"index.d.ts"}')
    with open(os.path.join(pkg, "index.d.ts"), "w") as f:
        f.write("export declare const x: number;\n")
    os.rename(pkg, pkg + "-old")
    shutil.rmtree(pkg + "-old")


def run_cell(km, kc, code, timeout, sink):
    """Executes code; appends its stream text to sink; returns the execute_reply's status, or "kernel died" /
    "timed out" (polls the kernel process, so a dead kernel is seen within a second)."""
    msg_id = kc.execute(code)
    deadline = time.monotonic() + timeout
    status, idle = None, False
    while time.monotonic() < deadline:
        if status is None:
            try:
                reply = kc.get_shell_msg(timeout=0.05)
                if reply["parent_header"].get("msg_id") == msg_id:
                    status = reply["content"]["status"]
            except queue.Empty:
                pass
        try:
            m = kc.get_iopub_msg(timeout=0.2)
            if m["parent_header"].get("msg_id") == msg_id:
                if m["msg_type"] == "stream":
                    sink.append(m["content"]["text"])
                elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    idle = True
        except queue.Empty:
            if not km.is_alive():
                return "kernel died"
        if status is not None and idle:
            return status
    return "timed out"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--launcher", default=os.path.join(ROOT, "scripts", "tslab-kernel.js"))
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--edits", default="contents,rename,churn",
                    help="which of contents,rename,churn to do (default all; the test passes only with rename in it)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="kernel-edit-", dir=os.path.join(ROOT, "build"))
    spec_root = os.path.join(scratch, ".jupyter")
    os.makedirs(os.path.join(spec_root, "kernels", "tslab"))
    with open(os.path.join(spec_root, "kernels", "tslab", "kernel.json"), "w") as f:
        json.dump({"argv": ["node", os.path.abspath(args.launcher), "kernel", "--config-path", "{connection_file}"],
                   "display_name": "tslab (edit test)", "language": "typescript"}, f)
    os.environ["JUPYTER_PATH"] = spec_root
    lib = os.path.join(scratch, "lib")
    os.makedirs(lib)
    os.makedirs(os.path.join(scratch, "node_modules"))
    probe = os.path.join(lib, "probe.ts")
    with open(probe, "w") as f:
        f.write(probe_source(1))
    with open(os.path.join(lib, "index.ts"), "w") as f:
        f.write(INDEX)

    log_path = os.path.join(scratch, "kernel.log")
    result = {"launcher": os.path.relpath(os.path.abspath(args.launcher), ROOT), "seconds": args.seconds}
    km = KernelManager(kernel_name="tslab")
    with open(log_path, "w") as log:
        km.start_kernel(cwd=scratch, stdout=log, stderr=log)
    kc = None
    saves = []
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        out = []
        status = run_cell(km, kc, CELL_SETUP, 180, out)
        if status != "ok":
            raise RuntimeError("setup cell: %s: %s" % (status, "".join(out)))
        result["before"] = "".join(out).strip()

        def edits():
            s = args.seconds
            time.sleep(0.2 * s)
            if "contents" in args.edits:
                contents_manager_save(probe, probe_source(2))
                saves.append(("contents manager", round(time.monotonic() - t0, 1)))
            time.sleep(0.2 * s)
            if "rename" in args.edits:
                rename_save(probe, probe_source(3))
                saves.append(("rename", round(time.monotonic() - t0, 1)))
            time.sleep(0.1 * s)
            if "churn" in args.edits:
                churn(scratch)
                saves.append(("churn", round(time.monotonic() - t0, 1)))

        out.clear()
        t0 = time.monotonic()
        editor = threading.Thread(target=edits)
        editor.start()
        result["stream_status"] = run_cell(km, kc, CELL_STREAM % {"ms": int(args.seconds * 1000)}, args.seconds + 120, out)
        editor.join()
        result["stream_s"] = round(time.monotonic() - t0, 1)
        result["saves"] = saves
        text = "".join(out)
        result["stream_done"] = "STREAM_DONE" in text
        result["alive_after_stream"] = km.is_alive()
        if km.is_alive():
            out.clear()
            result["after_status"] = run_cell(km, kc, CELL_AFTER, 180, out)
            result["after"] = "".join(out).strip()
        result["alive"] = km.is_alive()
    except Exception as e:
        result.update(alive=km.is_alive(), error="%s: %s" % (type(e).__name__, e))
    finally:
        if kc is not None:
            kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
    with open(log_path) as f:
        result["kernel_log_tail"] = f.read()[-1500:]
    shutil.rmtree(scratch, ignore_errors=True)
    ok = bool(result.get("alive")) and result.get("stream_status") == "ok" and result.get("stream_done") \
        and result.get("after_status") == "ok" and "AFTER 3 index sees 3" in result.get("after", "")
    result["passed"] = bool(ok)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print("%s: %s" % (k, v))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
