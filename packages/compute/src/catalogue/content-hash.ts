import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { DatasetManifest } from "@opencohort/validators";

/**
 * The dataset version's content hash, framed exactly as @opencohort/synth writes it: sha256
 * over, per table in table-name order, the UTF-8 file name, one 0x00 byte, the file length as
 * an unsigned 64-bit big-endian integer, then the file bytes. (Re-implemented rather than
 * imported: synth is a dev-only dependency; a test checks both agree.) Streams the files so a
 * multi-GB dataset does not have to fit in memory.
 */
export async function computeContentHash(
  dir: string,
  tables: DatasetManifest["tables"],
): Promise<`0x${string}`> {
  const hash = createHash("sha256");
  const ordered = [...tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const table of ordered) {
    const path = join(dir, table.file);
    const { size } = await stat(path);
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(size));
    hash.update(Buffer.from(table.file, "utf8"));
    hash.update(Buffer.from([0]));
    hash.update(length);
    let bytesRead = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      bytesRead += (chunk as Buffer).length;
    }
    if (bytesRead !== size) throw new Error(`${table.file} changed while it was being hashed`);
  }
  return `0x${hash.digest("hex")}`;
}
