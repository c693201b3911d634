/**
 * Bad input: said in one sentence that names the file (and line, when there is one), so a
 * steward can open the file and fix it. Nothing of a half-done import is left as a dataset.
 */
export class ImportError extends Error {
  override name = "ImportError";
  constructor(
    message: string,
    /** unit "row": a database table's row number, not a file's line. */
    readonly where?: { file: string; line?: number; unit?: "line" | "row" },
  ) {
    const at =
      where?.line === undefined
        ? ""
        : where.unit === "row"
          ? ` row ${where.line}`
          : `:${where.line}`;
    super(where ? `${where.file}${at}: ${message}` : message);
  }
}
