import { resolve } from "node:path";

/**
 * The Eunomia GiBleed OMOP CDM tables shipped in this package (samples/eunomia-gibleed,
 * gzip-compressed CSVs; see its README for source and license): the dev stack's fourth demo
 * dataset, importable on a machine that has only the repository.
 */
export const VENDORED_EUNOMIA = resolve(import.meta.dirname, "..", "samples", "eunomia-gibleed");
