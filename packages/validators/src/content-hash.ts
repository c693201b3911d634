import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * The content hash of a dataset folder, as written to manifest.contentHash (node only: the
 * writer, @opencohort/synth, and the reader, @opencohort/compute, both use this one function):
 *
 *   sha256 over, for each table sorted by table name (ascending, by code point):
 *     UTF-8 bytes of the file name (e.g. "person.parquet")
 *     one 0x00 byte
 *     the file's length in bytes as an unsigned 64-bit big-endian integer
 *     the file's bytes
 *   rendered as "0x" + 64 lowercase hex digits.
 *
 * The separator and length prefix make the framing unambiguous (no two different folders
 * can produce the same byte stream). The manifest itself is not hashed: it carries the hash.
 */
export async function computeContentHash(
  dir: string,
  tables: readonly { name: string; file: string }[],
): Promise<`0x${string}`> {
  const hash = createHash("sha256");
  const ordered = [...tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const table of ordered) {
    const path = join(dir, table.file);
    const { size } = await stat(path);
    const header = Buffer.alloc(8);
    header.writeBigUInt64BE(BigInt(size));
    hash.update(Buffer.from(table.file, "utf8"));
    hash.update(Buffer.from([0]));
    hash.update(header);
    let bytesRead = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      bytesRead += (chunk as Buffer).length;
    }
    // A file that changes while we read it must not yield a plausible-looking hash.
    if (bytesRead !== size) throw new Error(`${table.file} changed while it was being hashed`);
  }
  return `0x${hash.digest("hex")}`;
}
