import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { checkData, checkDisk, checkKernelspec, checkNode, checkNodeModules, checkSlurm, engineChecks, formatReport } from "../scripts/doctor";
import { tempDirs } from "./support/temp-dirs";

const tmpDir = tempDirs("ifsq-doctor-");
const ROOT = path.resolve(__dirname, "..");

test("doctor checks: each problem is a FAIL or warn with its fix", () => {
  assert.equal(checkNode("20.1.0").level, "ok");
  const old = checkNode("18.19.0");
  assert.equal(old.level, "fail");
  assert.match(old.detail, /18\.19\.0; package.json wants >=20/);
  assert.match(old.fix!, /Node\.js 20 or newer/);

  const empty = tmpDir();
  fs.copyFileSync(path.join(ROOT, "package-lock.json"), path.join(empty, "package-lock.json"));
  assert.equal(checkNodeModules(empty).level, "fail");
  assert.match(checkNodeModules(empty).fix!, /npm run setup/);
  fs.mkdirSync(path.join(empty, "node_modules"));
  fs.writeFileSync(path.join(empty, "node_modules", ".package-lock.json"), "{}");
  fs.writeFileSync(path.join(empty, "node_modules", ".ifsq-lock.sha256"), "0".repeat(64));
  assert.match(checkNodeModules(empty).detail, /different package-lock\.json/);
  assert.equal(checkNodeModules(ROOT).level, "ok");

  assert.equal(checkKernelspec(empty).level, "fail");
  assert.match(checkKernelspec(empty).detail, /kernels\/tslab\/kernel\.json is missing/);
  assert.equal(checkKernelspec(ROOT).level, "ok");

  const noData = checkData(() => { throw new Error("Fashion-MNIST not found: /x does not exist. Install …"); });
  assert.equal(noData.level, "fail");
  assert.match(noData.fix!, /dataset-fashion-mnist/);

  const engines = engineChecks([
    { name: "tensorflow", available: false, why: "@tensorflow/tfjs-node is not installed", active: false },
    { name: "wasm", available: true, why: null, active: true },
  ]);
  assert.deepEqual(engines.map((c) => c.level), ["warn", "ok"]);
  assert.match(engines[1].detail, /ACTIVE/);
  assert.equal(engineChecks([{ name: "cpu", available: false, why: "x", active: false }]).at(-1)!.level, "fail");
  assert.equal(engineChecks([], "IFSQ_BACKEND=\"gpu\" is not a backend").at(-1)!.level, "fail");

  assert.equal(checkSlurm(empty).level, "warn");
  assert.equal(checkDisk(path.join(empty, "runs", "deeper"), 0.5 * 2 ** 30).level, "fail");
  assert.equal(checkDisk(empty, 3 * 2 ** 30).level, "warn");
  assert.equal(checkDisk(empty, 50 * 2 ** 30).level, "ok");
  assert.match(formatReport([old, checkDisk(empty, 50 * 2 ** 30)]), /FAIL node: .*\n     fix: .*\n.*\ndoctor: 1 problem\(s\)/);
});

test("npm run doctor: exit 0 here, 1 with an engine that cannot be used", () => {
  const run = (env: Record<string, string>) => {
    try {
      return { code: 0, out: execFileSync(process.execPath, ["--import", "tsx", "scripts/doctor.ts"], { cwd: ROOT, env: { ...process.env, ...env }, stdio: "pipe" }).toString() };
    } catch (e) {
      const err = e as { status: number; stdout: Buffer };
      return { code: err.status, out: err.stdout.toString() };
    }
  };
  const good = run({});
  assert.equal(good.code, 0, good.out);
  assert.match(good.out, /^ok {3}engine (native|wasm|cpu|tensorflow): available, ACTIVE/m);
  assert.match(good.out, /^ok {3}jupyter: .*kernel "tslab" → \.jupyter\/kernels\/tslab$/m);
  const bad = run({ IFSQ_BACKEND: "tensorflow" });
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /FAIL engine: backend tensorflow was requested but is unavailable/);
});
