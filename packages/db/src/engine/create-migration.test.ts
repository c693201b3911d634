import { describe, expect, it } from "vitest";
import { dataLossWarnings } from "./create-migration";

describe("data-loss warnings for `prisma migrate dev`", () => {
  it("flags dropped tables and columns, not SQLite's drop-and-rename rebuilds", () => {
    const warnings = dataLossWarnings([
      'CREATE TABLE "new_Dataset" ("id" TEXT NOT NULL PRIMARY KEY)',
      'INSERT INTO "new_Dataset" ("id") SELECT "id" FROM "Dataset"',
      'DROP TABLE "Dataset"',
      'ALTER TABLE "new_Dataset" RENAME TO "Dataset"',
      'DROP TABLE "ReceiptAnchor"',
      'ALTER TABLE "Query" DROP COLUMN "errorRule",\nDROP COLUMN "errorMessage"',
    ]);
    expect(warnings.map((w) => [w.stepIndex, w.message.split(".")[0]])).toEqual([
      [4, "You are about to drop the `ReceiptAnchor` table"],
      [5, "You are about to drop the column `errorRule` on the `Query` table"],
      [5, "You are about to drop the column `errorMessage` on the `Query` table"],
    ]);
  });
});
