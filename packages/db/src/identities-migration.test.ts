import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { providerCases } from "../test/helpers";
import { resolveDatabaseUrl } from "./env";
import { LAYOUTS } from "./layout";
import { pgConfigFromUrl } from "./pg-config";

/**
 * The consent-identities migration on a database that already holds enrolments and per-dataset
 * reward rows: every enrolment keeps its person and wallet and waits for its patient to bind an
 * identity (consent under the wallet no longer counts); the old per-dataset roots are dropped
 * (the new RewardDistributor cannot pay them).
 */
const MIGRATION = "20261202115218_consent_identities_pooled_rewards";

function migrationsUpTo(provider: "sqlite" | "postgresql", last: string): string[] {
  const dir = LAYOUTS[provider].migrationsDir;
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name <= last)
    .map((entry) => entry.name)
    .sort()
    .map((name) => readFileSync(join(dir, name, "migration.sql"), "utf8"));
}

const seedBefore = `
  INSERT INTO "Dataset" ("id", "steward", "price", "accessDurationSeconds", "metadataHash", "listedBlock", "listedTxHash", "updatedBlock", "updatedAt")
    VALUES ('0xd1', '0xs1', '1', 60, '0xm1', 1, '0xt1', 1, CURRENT_TIMESTAMP);
  INSERT INTO "Enrolment" ("id", "datasetId", "personId", "patientAddress") VALUES ('e1', '0xd1', 42, '0xwallet');
  INSERT INTO "RewardEpoch" ("id", "datasetId", "epoch", "status", "pool", "updatedAt") VALUES ('r1', '0xd1', 3, 'POSTED', '5', CURRENT_TIMESTAMP);
  INSERT INTO "RewardAllocation" ("rewardEpochId", "patientAddress", "amount", "proof") VALUES ('r1', '0xwallet', '5', '[]');
`;
const readAfter = `SELECT "personId", "patientAddress", "identityAddress", "boundAt" FROM "Enrolment"`;

describe.each(providerCases())(
  "the consent-identities migration on $name",
  ({ name, url, skip }) => {
    it.skipIf(skip)("keeps enrolments unbound and drops the per-dataset reward roots", async () => {
      const previous = migrationsUpTo(name, MIGRATION).slice(0, -1);
      const identities = migrationsUpTo(name, MIGRATION).at(-1) ?? "";
      const { target } = resolveDatabaseUrl(url());
      if (target.provider === "sqlite") {
        mkdirSync(dirname(target.file), { recursive: true });
        const db = new Database(target.file);
        try {
          for (const sql of previous) db.exec(sql);
          db.exec(seedBefore);
          db.exec(identities);
          expect(db.prepare(readAfter).all()).toEqual([
            { personId: 42, patientAddress: "0xwallet", identityAddress: null, boundAt: null },
          ]);
          expect(db.prepare('SELECT count(*) AS n FROM "RewardEpoch"').get()).toEqual({ n: 0 });
        } finally {
          db.close();
        }
        return;
      }
      const server = new URL(target.url);
      const database = server.pathname.slice(1);
      server.pathname = "/postgres";
      const admin = new pg.Client(pgConfigFromUrl(server.toString()));
      await admin.connect();
      await admin.query(`CREATE DATABASE "${database}"`);
      const client = new pg.Client(pgConfigFromUrl(target.url));
      await client.connect();
      try {
        for (const sql of previous) await client.query(sql);
        await client.query(seedBefore);
        await client.query(identities);
        expect((await client.query(readAfter)).rows).toEqual([
          { personId: "42", patientAddress: "0xwallet", identityAddress: null, boundAt: null },
        ]);
        expect((await client.query('SELECT count(*)::int AS n FROM "RewardEpoch"')).rows).toEqual([
          { n: 0 },
        ]);
      } finally {
        await client.end();
        await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        await admin.end();
      }
    });
  },
);
