import { describe, expect, it } from "vitest";
import { syncRetryingLockConflicts } from "./indexer-sync";

/** An indexer whose syncs fail with the given errors first (only the retry policy is tested). */
function indexerFailing(...errors: unknown[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async syncOnce() {
      calls++;
      const error = errors.shift();
      if (error) throw error;
      return { fromBlock: 0n, toBlock: 0n, events: 0 } as never;
    },
  };
}

const conflict = (code: string) => Object.assign(new Error("Operation has timed out"), { code });

describe("the API's indexer catch-up", () => {
  it("tries again after losing a lock race (P1008, P2034)", async () => {
    const indexer = indexerFailing(conflict("P1008"), conflict("P2034"));
    await syncRetryingLockConflicts(indexer, 1);
    expect(indexer.calls).toBe(3);
  });

  it("gives up after three lost races, and at once on any other error", async () => {
    const racing = indexerFailing(conflict("P1008"), conflict("P1008"), conflict("P1008"));
    await expect(syncRetryingLockConflicts(racing, 1)).rejects.toMatchObject({ code: "P1008" });
    expect(racing.calls).toBe(3);
    const broken = indexerFailing(new Error("the RPC node is down"));
    await expect(syncRetryingLockConflicts(broken, 1)).rejects.toThrow("RPC node is down");
    expect(broken.calls).toBe(1);
  });
});
