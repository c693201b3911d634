import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import type { DatasetManifest } from "@opencohort/validators";

/**
 * The dataset version's content hash as datasetManifestSchema documents it: sha256 over the
 * Parquet files, each contributing its file name and then its bytes, in table-name order.
 * Streams the files so a multi-GB dataset does not have to fit in memory.
 */
export async function computeContentHash(
  dir: string,
  tables: DatasetManifest["tables"],
): Promise<`0x${string}`> {
  const hash = createHash("sha256");
  const ordered = [...tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const table of ordered) {
    hash.update(table.file, "utf8");
    for await (const chunk of createReadStream(join(dir, table.file))) {
      hash.update(chunk as Buffer);
    }
  }
  return `0x${hash.digest("hex")}`;
}
