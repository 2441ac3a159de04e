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
 * socket, so at most one is in flight; order per socket is kept. A send that still fails (socket closed at shutdown)
 * is written to stderr (the kernel log) instead of becoming an unhandled rejection. Nothing in node_modules is edited:
 * `.jupyter/kernels/tslab/kernel.json` runs this file, which then starts tslab's own `main()` with the same arguments.
 */
"use strict";
const path = require("path");

const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const zmq = require(require.resolve("zeromq", { paths: [tslabDir] }));

/**
 * Replaces `proto.send` so that sends on one socket run one after another (idempotent). An idle socket sends at once,
 * synchronously as before (a REP socket must have sent before its next receive); a busy one queues the message.
 * The returned promise never rejects; a failure is logged.
 */
function serializeSends(proto) {
  if (proto.send.ifsqSerialized) return;
  const send = proto.send;
  const tails = new WeakMap();
  const serialized = function (msg) {
    const tail = tails.get(this);
    const run = () => send.call(this, msg);
    let next;
    try {
      next = tail ? tail.then(run) : run();
    } catch (err) {
      next = Promise.reject(err);
    }
    const settled = Promise.resolve(next).then(
      () => undefined,
      (err) => { process.stderr.write(`tslab-kernel: a ${this.constructor.name} send failed: ${(err && err.message) || err}\n`); },
    );
    tails.set(this, settled);
    settled.then(() => { if (tails.get(this) === settled) tails.delete(this); });
    return settled;
  };
  serialized.ifsqSerialized = true;
  Object.defineProperty(proto, "send", { value: serialized, writable: false, enumerable: false, configurable: true });
}

serializeSends(zmq.Socket.prototype);
module.exports = { serializeSends };

if (require.main === module) require(path.join(tslabDir, "dist", "main.js")).main();
