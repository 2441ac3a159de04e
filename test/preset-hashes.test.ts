/**
 * The presets' config hashes are pinned: a run folder is `<kind>-<hash12>`, so a schema change that alters a preset's
 * resolved config (a new key with a default, a renamed key) silently retrains every notebook's runs. New keys are
 * `.optional()` with "absent = old behaviour" (canonicalJson drops undefined members). Change a pin only on purpose.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { presetConfig, configHash, type ConfigDef } from "../lib/train/config";
import { tokenizerConfig } from "../lib/experiments/tokenizer/config";
import { arConfig } from "../lib/experiments/ar/config";
import { ditConfig } from "../lib/experiments/dit/config";
import { featureNetConfig } from "../lib/experiments/featurenet/config";

const PINNED: [string, ConfigDef<any>, Record<string, string>][] = [
  ["tokenizer", tokenizerConfig, { tiny: "36ad52d0fc89", quick: "7fa8be309738", "paper-cpu": "149e21646b47" }],
  ["ar", arConfig, { tiny: "d2589ae3ae75", quick: "c7c349dc5eb1", "paper-cpu": "cfbf59b9d167" }],
  ["dit", ditConfig, { tiny: "2712a2327f75", quick: "7ac947f196c4", "paper-cpu": "b5c4abea270a" }],
  ["featurenet", featureNetConfig, { tiny: "2d072d5955f3", quick: "a993a62b67c1", "paper-cpu": "bda5fa19e63f" }],
];

for (const [kind, def, pins] of PINNED) {
  test(`${kind} presets keep their config hashes (finished runs stay reusable)`, () => {
    for (const [preset, hash] of Object.entries(pins)) {
      assert.equal(configHash(presetConfig(def, preset)).slice(0, 12), hash, `${kind} preset ${preset}`);
    }
  });
}
