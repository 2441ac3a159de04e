"""An emulated notebook front end for scripts/run_notebooks.py: the requests a JupyterLab tab sends while cells run.

JupyterLab asks the kernel for completions, inspections, kernel info and comm info all the time, also while a cell
runs. nbclient alone sends nothing during a cell, so a kernel that breaks under such traffic (tslab 1.0.22 with
zeromq 6 dropped replies and died with "Socket is busy writing", EBUSY, while a cell streamed output) would pass a
headless run. `FrontEnd` opens a second client with its OWN Session (clients sharing a session share a ZeroMQ
identity, and the kernel's replies then reach only one of them) and sends one request every `interval_s`: round robin
over the cheap LIGHT requests (each one still makes the kernel publish busy/idle on iopub next to the cell's output),
and every `heavy_every_s` one of HEAVY instead (tslab answers completion and inspection synchronously with the
TypeScript language service, 0.1-1 s of CPU each; a typing user sends them about that often, and one at a time: a
new one waits until the previous one is answered). It records which requests were answered and how fast.
"""
import asyncio
import time
from queue import Empty

from jupyter_client.session import Session
from nbclient.util import ensure_async

# Requests in flight at most; a tick with this many unanswered sends nothing.
MAX_OUTSTANDING = 8

# (channel, msg_type, content): what a front end sends while the user works in a notebook.
LIGHT = [
    ("shell", "kernel_info_request", {}),
    ("control", "kernel_info_request", {}),
    ("shell", "comm_info_request", {"target_name": "jupyter.widget"}),
]
HEAVY = [
    ("shell", "complete_request", {"code": "Math.ma", "cursor_pos": 7}),
    ("shell", "inspect_request", {"code": "Math.max", "cursor_pos": 6, "detail_level": 0}),
]


class FrontEnd:
    """Sends LIGHT/HEAVY requests to a running kernel every interval_s until stop(); counts replies by msg_id."""

    def __init__(self, km, interval_s, heavy_every_s=2.0):
        if not interval_s > 0:
            raise ValueError("FrontEnd: interval_s=%r; expected seconds > 0" % (interval_s,))
        self.km = km
        self.interval_s = interval_s
        self.heavy_every_s = heavy_every_s
        self.heavy_pending = None  # msg_id of the completion/inspection in flight
        self.kc = None
        self.tasks = []
        self.pending = {}  # msg_id -> (sent at, "channel/msg_type", what ran then)
        self.sent = 0
        self.skipped = 0  # ticks with MAX_OUTSTANDING requests unanswered: nothing sent
        self.answered = 0
        self.slowest = {}  # "channel/msg_type" -> slowest reply in seconds
        self.replies = {}  # "shell"/"control" -> (time, what ran) of the newest message received there
        self.where = ""  # set by the runner: the cell that runs now (for the report)

    def start(self):
        self.kc = self.km.client(session=Session(key=self.km.session.key, signature_scheme=self.km.session.signature_scheme))
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=True)
        self.tasks = [asyncio.ensure_future(self._send_loop()),
                      asyncio.ensure_future(self._receive(self.kc.shell_channel)),
                      asyncio.ensure_future(self._receive(self.kc.control_channel))]

    async def _send_loop(self):
        light = heavy = 0
        last_heavy = time.monotonic()
        while True:
            now = time.monotonic()
            if len(self.pending) >= MAX_OUTSTANDING:
                # a front end does not pile up requests the kernel cannot answer (a cell that blocks the event loop for
                # minutes would otherwise leave thousands, each answered with busy/idle on iopub ahead of later outputs)
                self.skipped += 1
                await asyncio.sleep(self.interval_s)
                continue
            if now - last_heavy >= self.heavy_every_s and self.heavy_pending not in self.pending:
                channel, msg_type, content = HEAVY[heavy % len(HEAVY)]
                heavy += 1
                last_heavy = now
            else:
                channel, msg_type, content = LIGHT[light % len(LIGHT)]
                light += 1
            msg = self.kc.session.msg(msg_type, content)
            getattr(self.kc, channel + "_channel").send(msg)
            msg_id = msg["header"]["msg_id"]
            self.pending[msg_id] = (now, "%s/%s" % (channel, msg_type), self.where)
            if msg_type in ("complete_request", "inspect_request"):
                self.heavy_pending = msg_id
            self.sent += 1
            await asyncio.sleep(self.interval_s)

    async def _receive(self, channel):
        while True:
            try:  # a poll may wake up with nothing to read (Empty): that must not end the receiver
                msg = await ensure_async(channel.get_msg(timeout=1.0))
            except Empty:
                continue
            self.replies["shell" if channel is self.kc.shell_channel else "control"] = (time.monotonic(), self.where)
            entry = self.pending.pop(msg["parent_header"].get("msg_id"), None)
            if entry is not None:
                self.answered += 1
                self.slowest[entry[1]] = max(self.slowest.get(entry[1], 0.0), time.monotonic() - entry[0])

    async def stop(self, drain_s):
        """Stops sending, waits up to drain_s for the outstanding replies, closes the client; returns summary()."""
        if not self.tasks:
            return self.summary()
        self.tasks[0].cancel()
        deadline = time.monotonic() + drain_s
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in self.tasks:
            task.cancel()
        for result in await asyncio.gather(*self.tasks, return_exceptions=True):
            if isinstance(result, Exception):  # a receiver that broke would look like a kernel that does not answer
                raise RuntimeError("the emulated front end failed: %s: %s" % (type(result).__name__, result))
        self.tasks = []
        self.kc.stop_channels()
        return self.summary()

    def summary(self):
        """{sent, answered, missing: [(kind, where, age s)], slowest: {kind: s}, newest_reply: {channel: (age s, where)}}."""
        now = time.monotonic()
        missing = [(kind, where, now - t) for t, kind, where in sorted(self.pending.values())]
        newest = {ch: (now - t, where) for ch, (t, where) in self.replies.items()}
        return {"sent": self.sent, "answered": self.answered, "missing": missing, "slowest": dict(self.slowest),
                "newest_reply": newest}
