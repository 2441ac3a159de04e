/**
 * The presets' config hashes are pinned: a run folder is `<kind>-<hash12>`, so a schema change that alters a preset's
 * resolved config (a new key with a default, a renamed key) silently retrains every notebook's runs. New keys are
 * `.optional()` with "absent = old behaviour" (canonicalJson drops undefined members). Change a pin only on purpose.
 * Changed on purpose (issue 27): the tokenizer's quick and paper-cpu presets set latentInitGain 5 (one tokenizer family
 * for every L of the bits sweep and notebooks 02–07), so those presets' tokenizers and the AR / DiT runs on them moved.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { presetConfig, configHash, type ConfigDef } from "../lib/train/config";
import { tokenizerConfig } from "../lib/experiments/tokenizer/config";
import { arConfig } from "../lib/experiments/ar/config";
import { ditConfig } from "../lib/experiments/dit/config";
import { featureNetConfig } from "../lib/experiments/featurenet/config";

const PINNED: [string, ConfigDef<any>, Record<string, string>][] = [
  ["tokenizer", tokenizerConfig, { tiny: "36ad52d0fc89", quick: "d4471ceb0622", "paper-cpu": "a978edbd8248" }],
  ["ar", arConfig, { tiny: "d2589ae3ae75", quick: "c643612f6532", "paper-cpu": "8c71412c8dc2" }],
  ["dit", ditConfig, { tiny: "2712a2327f75", quick: "4a3106bdf1a9", "paper-cpu": "d62c6ef734f0" }],
  ["featurenet", featureNetConfig, { tiny: "2d072d5955f3", quick: "a993a62b67c1", "paper-cpu": "bda5fa19e63f" }],
];

for (const [kind, def, pins] of PINNED) {
  test(`${kind} presets keep their config hashes (finished runs stay reusable)`, () => {
    for (const [preset, hash] of Object.entries(pins)) {
      assert.equal(configHash(presetConfig(def, preset)).slice(0, 12), hash, `${kind} preset ${preset}`);
    }
  });
}
