/**
 * The smoke version of `sigkill_crash_test.ts` for the base stage: 10
 * SIGKILLs in each of the `sync` and `group` durabilities, aimed at the
 * phases in turn, with the same checks after every kill; every phase must
 * get at least one kill. `HESTIA_CRASH_SEED` overrides the seed.
 *
 * @module
 */
import { describe, it } from "@std/testing/bdd";
import { runCampaign, seedFromEnv } from "./_crash_harness.ts";

describe("SegmentIndex killed with SIGKILL in a real process (smoke)", () => {
  it("keeps every acknowledged write across 20 kills aimed at every phase (sync, group)", async () => {
    await runCampaign({
      durabilities: ["sync", "group"],
      killsPerDurability: 10,
      seed: seedFromEnv(20260611),
      requiredPerPhase: 1,
    });
  });
});
