#!/usr/bin/env node
/**
 * The project's tslab kernel: tslab 1.0.22 with every ZeroMQ send serialized, one queue per socket.
 *
 * tslab sends without awaiting (status, stream, display, replies), and zeromq 6 rejects a second `send` while one is
 * in flight on the same socket ("Socket is busy writing", EBUSY). A cell that streams output while any shell or
 * control request arrives (JupyterLab sends kernel_info/complete/inspect/comm_info all the time) then drops a reply,
 * and with @tensorflow/tfjs-backend-wasm loaded (its Node build re-throws uncaught errors) kills the kernel.
 *
 * Here `Socket.prototype.send` of the zeromq that tslab loads chains each send after the previous one on the same
 * socket (and after a pending bind), so at most one is in flight; order per socket is kept. A send that still fails (socket closed at shutdown)
 * is written to stderr (the kernel log) instead of becoming an unhandled rejection.
 *
 * Also: edits of imported files while a cell runs neither kill the kernel nor half-apply (scripts/kernel-edits.js: the
 * next cell that imports a project file sees the new code), and the kernel exits when the process that started it
 * (the notebook runner, Jupyter's server) is gone, even after a SIGKILL; node processes the notebook starts inherit the
 * same watch through NODE_OPTIONS (scripts/watch-parent.js). Nothing in node_modules is edited:
 * `.jupyter/kernels/tslab/kernel.json` runs this file, which then starts tslab's own `main()` with the same arguments.
 */
"use strict";
const path = require("path");

const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const zmq = require(require.resolve("zeromq", { paths: [tslabDir] }));

/** Per socket: the promise of its last queued operation (a send or a bind); absent when the socket is idle. */
const tails = new WeakMap();

/**
 * Runs `op` on `socket` after its queued operations; an idle socket runs it at once, synchronously as before (a REP
 * socket must have sent before its next receive). Returns op's promise and a settled one that never rejects.
 */
function enqueue(socket, op) {
  const tail = tails.get(socket);
  let next;
  try {
    next = tail ? tail.then(op) : op();
  } catch (err) {
    next = Promise.reject(err);
  }
  next = Promise.resolve(next);
  const settled = next.then(() => undefined, () => undefined);
  tails.set(socket, settled);
  settled.then(() => { if (tails.get(socket) === settled) tails.delete(socket); });
  return next;
}

/**
 * Replaces `proto.send` so that sends on one socket run one after another, and after a pending bind (a send during
 * bind() is refused too: "Socket is blocked by a bind or unbind operation", and tslab answers requests while it still
 * binds). The returned promise never rejects; a failure is logged to the kernel's stderr. Idempotent.
 */
function serializeSends(proto) {
  if (proto.send.ifsqSerialized) return;
  const send = proto.send;
  const serialized = function (msg) {
    return enqueue(this, () => send.call(this, msg)).then(
      () => undefined,
      (err) => { process.stderr.write(`tslab-kernel: a ${this.constructor.name} send failed: ${(err && err.message) || err}\n`); },
    );
  };
  serialized.ifsqSerialized = true;
  Object.defineProperty(proto, "send", { value: serialized, writable: false, enumerable: false, configurable: true });
}

/** Makes `bind` of each socket class queue like a send (Socket.prototype.bind itself is not configurable). */
function queueBinds(classes) {
  for (const cls of classes) {
    const bind = cls.prototype.bind;
    if (bind.ifsqQueued) continue;
    const queued = function (address) {
      return enqueue(this, () => bind.call(this, address));
    };
    queued.ifsqQueued = true;
    Object.defineProperty(cls.prototype, "bind", { value: queued, writable: false, enumerable: false, configurable: true });
  }
}

serializeSends(zmq.Socket.prototype);
queueBinds([zmq.Publisher, zmq.Router, zmq.Reply]);
module.exports = { serializeSends, queueBinds };

if (require.main === module) {
  const { watchParent, childEnv } = require("./watch-parent.js");
  watchParent();
  Object.assign(process.env, childEnv(process.env)); // the node processes a notebook starts watch the kernel
  require("./kernel-edits.js").installEditHandling(tslabDir, (msg) => process.stderr.write(msg));
  require(path.join(tslabDir, "dist", "main.js")).main();
}
