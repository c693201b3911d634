// Opens a receipt's hidden-field commitment for an auditor (server-side only):
//   DATABASE_URL=... pnpm --filter @opencohort/api receipt:disclose <queryId>
// Prints the salt and included-person count as JSON. Whoever runs it can read the app
// database anyway; researchers have no path to it.
import { loadDbEnv, openDb } from "@opencohort/db";
import { discloseReceipt } from "../src/services/receipt-disclosure";

const queryId = process.argv[2];
if (!queryId) {
  console.error("usage: pnpm --filter @opencohort/api receipt:disclose <queryId>");
  process.exit(2);
}
const db = await openDb(loadDbEnv().databaseUrl);
try {
  const disclosure = await discloseReceipt(db, queryId);
  if (!disclosure) {
    console.error(`Query ${queryId} has no version 3 receipt to disclose.`);
    process.exitCode = 1;
  } else {
    console.log(JSON.stringify(disclosure, null, 2));
  }
} finally {
  await db.$disconnect();
}
