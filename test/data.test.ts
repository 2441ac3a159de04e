import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { encodeIdx, parseIdx, readIdxFile, IDX_MAGIC } from "../lib/data/idx";
import { loadFashionMnist, fashionMnistDir, fashionMnistCandidates, DEBIAN_DIR } from "../lib/data/fashion-mnist";
import { projectRoot as repoRoot } from "../lib/project-root";
import { batchIndices, epochOrder, imageBatch, labelBatch, stepsPerEpoch } from "../lib/data/batches";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "idx-"));

function fixture(name: string, bytes: Buffer): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, bytes);
  return f;
}

test("IDX: a valid gzip file round-trips dims and bytes", () => {
  const data = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => i * 7);
  const f = fixture("ok-images.gz", encodeIdx([3, 2, 4], data));
  const arr = readIdxFile(f, { magic: IDX_MAGIC.images, count: 3, dims: [2, 4] });
  assert.deepEqual(arr.dims, [3, 2, 4]);
  assert.deepEqual(Array.from(arr.data), Array.from(data));
  const labels = parseIdx(encodeIdx([5], Uint8Array.from([0, 1, 2, 3, 9]), false), "raw-labels", { magic: IDX_MAGIC.labels });
  assert.deepEqual(Array.from(labels.data), [0, 1, 2, 3, 9]);
});

test("IDX: truncated files are errors naming the file", () => {
  const raw = encodeIdx([3, 2, 4], new Uint8Array(24), false);
  const f = fixture("short-images.gz", zlib.gzipSync(raw.subarray(0, raw.length - 5)));
  assert.throws(() => readIdxFile(f), (e: Error) => e.message.includes(f) && /truncated IDX data.*need 24 bytes.*has 19/.test(e.message));
  // a cut gzip stream
  const gz = encodeIdx([3, 2, 4], new Uint8Array(24));
  const g = fixture("cut.gz", gz.subarray(0, gz.length - 10));
  assert.throws(() => readIdxFile(g), (e: Error) => e.message.includes(g) && /gzip stream is corrupted or truncated/.test(e.message));
  // a header cut short
  assert.throws(() => parseIdx(raw.subarray(0, 9), "hdr"), /hdr: truncated IDX header/);
  // trailing garbage
  assert.throws(() => parseIdx(Buffer.concat([raw, Buffer.from([1])]), "extra"), /extra: IDX file has 1 trailing bytes/);
});

test("IDX: wrong magic number and wrong counts are errors", () => {
  const labels = encodeIdx([4], new Uint8Array(4));
  const f = fixture("labels-as-images.gz", labels);
  assert.throws(() => readIdxFile(f, { magic: IDX_MAGIC.images }), (e: Error) => e.message.includes(f) && /magic number is 2049 \(0x801\), expected 2051/.test(e.message));
  const junk = Buffer.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0]);
  assert.throws(() => parseIdx(junk, "junk"), /junk: bad IDX magic number/);
  assert.throws(() => readIdxFile(f, { magic: IDX_MAGIC.labels, count: 5 }), /holds 4 items, expected 5/);
  assert.throws(() => readIdxFile(path.join(tmp, "missing.gz")), /missing\.gz: cannot read IDX file \(ENOENT\)/);
});

test("Fashion-MNIST: a folder without the files is a clear error saying how to get them", () => {
  assert.throws(
    () => fashionMnistDir(tmp),
    (e: Error) =>
      e.message.startsWith(`Fashion-MNIST not found: ${tmp} (the dir argument) holds none of the four files. Install Debian's package (apt-get install dataset-fashion-mnist), or download `) &&
      e.message.endsWith(`into ${tmp}/, or set IFSQ_DATA_DIR to a folder that holds them`),
  );
  assert.ok(fs.existsSync(path.join(repoRoot(), "package.json")));
});

/** Runs `fn` with $IFSQ_DATA_DIR set to `value` (undefined: unset), restoring it afterwards. */
function withDataDir(value: string | undefined, fn: () => void): void {
  const saved = process.env.IFSQ_DATA_DIR;
  try {
    if (value === undefined) delete process.env.IFSQ_DATA_DIR;
    else process.env.IFSQ_DATA_DIR = value;
    fn();
  } finally {
    if (saved === undefined) delete process.env.IFSQ_DATA_DIR;
    else process.env.IFSQ_DATA_DIR = saved;
  }
}

test("Fashion-MNIST: IFSQ_DATA_DIR is the only folder searched (relative to the project root); a missing file is named with its full path", () => {
  let real = "";
  withDataDir(undefined, () => (real = fashionMnistDir()));
  const own = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-"));
  try {
    for (const f of fs.readdirSync(real)) fs.symlinkSync(path.join(real, f), path.join(own, f));
    withDataDir(own, () => {
      assert.deepEqual(fashionMnistCandidates(), [{ dir: own, source: `IFSQ_DATA_DIR=${own}` }]);
      assert.equal(fashionMnistDir(), own);
      assert.deepEqual(Array.from(loadFashionMnist("test", { limit: 5 }).labels), Array.from(loadFashionMnist("test", { dir: real, limit: 5 }).labels));
      assert.equal(fashionMnistDir(DEBIAN_DIR), DEBIAN_DIR, "an explicit dir wins over the setting");
    });
    const rel = path.relative(repoRoot(), own);
    withDataDir(rel, () => assert.equal(fashionMnistDir(), own));

    fs.rmSync(path.join(own, "t10k-labels-idx1-ubyte.gz"));
    withDataDir(rel, () => {
      const msg =
        `Fashion-MNIST in ${own} (IFSQ_DATA_DIR=${rel}) is incomplete: missing ${own}/t10k-labels-idx1-ubyte.gz (gzipped or not). ` +
        `Download the missing file(s) from https://github.com/zalandoresearch/fashion-mnist (folder data/fashion/) into ${own}/ ` +
        `(IFSQ_DATA_DIR is set, so no other folder is searched; unset it to use the defaults)`;
      assert.throws(() => fashionMnistDir(), { message: msg });
      assert.throws(() => loadFashionMnist("test", { limit: 1 }), { message: msg });
    });
    withDataDir(path.join(own, "absent"), () => {
      assert.throws(
        () => fashionMnistDir(),
        (e: Error) =>
          e.message.startsWith(`Fashion-MNIST not found: ${own}/absent (IFSQ_DATA_DIR=${own}/absent) does not exist (IFSQ_DATA_DIR is set, so no other folder is searched; unset it to use the defaults). Install`) &&
          e.message.endsWith("or set IFSQ_DATA_DIR to a folder that holds them"),
      );
    });
  } finally {
    fs.rmSync(own, { recursive: true, force: true });
  }
});

test("Fashion-MNIST: without a setting, the project's data/fashion-mnist is searched before the system copy", () => {
  withDataDir(undefined, () => {
    assert.deepEqual(
      fashionMnistCandidates().map((c) => c.dir),
      [path.join(repoRoot(), "data", "fashion-mnist"), DEBIAN_DIR],
    );
  });
  withDataDir("", () => assert.equal(fashionMnistCandidates().length, 2, "an empty IFSQ_DATA_DIR counts as unset"));
});

test("Fashion-MNIST: real data has the published shapes, range, padding and class balance", () => {
  const train = loadFashionMnist("train");
  assert.equal(train.n, 60000);
  assert.equal(train.images.length, 60000 * 32 * 32);
  assert.equal(train.labels.length, 60000);
  const counts = new Array(10).fill(0);
  for (const l of train.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < 1000 * 1024; i++) {
    min = Math.min(min, train.images[i]);
    max = Math.max(max, train.images[i]);
  }
  assert.equal(min, -1);
  assert.equal(max, 1);
  // the 2-pixel border is background (−1) in every image checked
  for (let i = 0; i < 200; i++) {
    const o = i * 1024;
    for (let c = 0; c < 32; c++) {
      for (const r of [0, 1, 30, 31]) {
        assert.equal(train.images[o + r * 32 + c], -1);
        assert.equal(train.images[o + c * 32 + r], -1);
      }
    }
  }
  const test_ = loadFashionMnist("test", { limit: 100 });
  assert.equal(test_.n, 100);
  assert.equal(test_.images.length, 100 * 1024);
  assert.deepEqual(test_.classNames.length, 10);
  const fullTest = loadFashionMnist("test");
  const tc = new Array(10).fill(0);
  for (const l of fullTest.labels) tc[l]++;
  assert.deepEqual(tc, new Array(10).fill(1000));
  // the limited load equals the head of the full split; a cached full split is served as a view
  assert.deepEqual(Array.from(test_.images.subarray(0, 2048)), Array.from(fullTest.images.subarray(0, 2048)));
  assert.equal(loadFashionMnist("train").images, train.images);
  assert.equal(loadFashionMnist("train", { limit: 10 }).images.buffer, train.images.buffer);
});

test("batches: deterministic in (seed, step), a permutation per epoch, different across epochs and seeds", () => {
  const n = 103;
  const b = 10;
  assert.equal(stepsPerEpoch(b, n), 10);
  const seen = new Set<number>();
  for (let s = 0; s < 10; s++) for (const i of batchIndices(7, s, b, n)) seen.add(i);
  assert.equal(seen.size, 100);
  assert.deepEqual(Array.from(batchIndices(7, 13, b, n)), Array.from(batchIndices(7, 13, b, n)));
  assert.deepEqual(Array.from(batchIndices(7, 13, b, n)), Array.from(epochOrder(7, 1, n).subarray(30, 40)));
  assert.notDeepEqual(Array.from(epochOrder(7, 0, n)), Array.from(epochOrder(7, 1, n)));
  assert.notDeepEqual(Array.from(epochOrder(7, 0, n)), Array.from(epochOrder(8, 0, n)));
  assert.deepEqual(Array.from(epochOrder(7, 0, n)).sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
  assert.throws(() => batchIndices(7, 0, 200, n), /batch size 200 is larger than the data set \(103 examples\)/);
});

test("batches: image and label tensors", async () => {
  await initBackend("cpu", { log: () => {} });
  const ds = loadFashionMnist("test", { limit: 50 });
  const idx = [3, 0, 49];
  const before = tf.memory().numTensors;
  const x = imageBatch(ds, idx);
  const y = labelBatch(ds, idx);
  assert.deepEqual(x.shape, [3, 32, 32, 1]);
  assert.equal(y.dtype, "int32");
  assert.deepEqual(Array.from(y.dataSync()), [ds.labels[3], ds.labels[0], ds.labels[49]]);
  assert.deepEqual(Array.from(x.dataSync().subarray(1024, 2048)), Array.from(ds.images.subarray(0, 1024)));
  tf.dispose([x, y]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => imageBatch(ds, [50]), /index\[0\]=50 is outside the data set \(0…49\)/);
});
