/**
 * Crash test with real processes: a child process writes concurrently
 * (puts, overwrites, deletes, batches) while this test SIGKILLs it at
 * seeded random moments, 100 times in each of the `sync` and `group`
 * durabilities, aiming the kills at each phase in turn — log append, fsync,
 * flush, compaction, split, checkpoint, log trim — and after every kill
 * reopens the index and checks that every key reads back its last
 * acknowledged value or a value written after it, that no value that was
 * never written appears, and that `checkAndRepairConsistency()` reports a
 * clean index. Every phase must get at least 20 kills. See
 * `_crash_harness.ts` for the checks and `_phase_fs.ts` for how the child
 * reports its phases.
 *
 * Environment:
 * - `HESTIA_CRASH_SEED`: the seed (default 20260611); printed, and named by every failure;
 * - `HESTIA_CRASH_KILLS`: kills per durability (default 100; 500 in soak mode);
 * - `HESTIA_CRASH_SOAK=1`: soak mode, not part of the gates: more kills, the `none` durability too
 *   (under SIGKILL, unlike power loss, the OS keeps what reached it, so the same property holds), and
 *   kills while the child opens the index and recovers it from the previous crash (phase `recovery`).
 *
 * `sigkill_crash_smoke_test.ts` runs 20 kills of the same test for the base stage.
 *
 * @module
 */
import { describe, it } from "@std/testing/bdd";
import process from "node:process";
import { PHASES, SOAK_PHASES } from "./_crash_shared.ts";
import { type Durability, intFromEnv, runCampaign, seedFromEnv } from "./_crash_harness.ts";

const SOAK = process.env.HESTIA_CRASH_SOAK === "1";
const SEED = seedFromEnv(20260611);
const KILLS = intFromEnv("HESTIA_CRASH_KILLS", SOAK ? 500 : 100);
const DURABILITIES: Durability[] = SOAK ? ["sync", "group", "none"] : ["sync", "group"];
const PHASES_TARGETED = SOAK ? SOAK_PHASES : PHASES;
const TOTAL = KILLS * DURABILITIES.length;
/** 20 per phase for a full run (200 kills aimed in turn at 7 phases give 28 or 29 each). */
const REQUIRED = Math.min(20, Math.floor((TOTAL / PHASES_TARGETED.length) * 0.7));

describe("SegmentIndex killed with SIGKILL in a real process", () => {
  it(
    `keeps every acknowledged write across ${TOTAL} kills aimed at every phase (${DURABILITIES.join(", ")})`,
    async () => {
      await runCampaign({
        durabilities: DURABILITIES,
        killsPerDurability: KILLS,
        seed: SEED,
        requiredPerPhase: REQUIRED,
        phases: PHASES_TARGETED,
      });
    },
  );
});
