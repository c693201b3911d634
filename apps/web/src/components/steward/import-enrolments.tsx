"use client";
/**
 * Enrolment import for one of my datasets: a CSV of `person_id,patient_address` (the
 * pseudonymous person in the files -> the patient's wallet; the patient binds their consent
 * identity on their first visit) or, with the header `person_id,identity_address`, of the
 * consent identities patients gave the steward (their wallets are learnt when they bind), sent
 * in parts of
 * MAX_ENROLMENTS_PER_IMPORT. The import is idempotent, so after a refused part the same file
 * can be imported again once fixed: what was stored is skipped, nothing is duplicated.
 */
import { MAX_ENROLMENTS_PER_IMPORT } from "@opencohort/validators";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type ChangeEvent, useState } from "react";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { parseEnrolmentCsv } from "./enrolment-csv";
import styles from "./steward.module.css";

export function ImportEnrolments({ datasetId }: { datasetId: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const [sent, setSent] = useState({ done: 0, total: 0 });

  const upload = useMutation({
    mutationFn: async (file: File) => {
      const { addressKind, entries } = parseEnrolmentCsv(await file.text());
      const totals = { inserted: 0, skipped: 0, enrolled: 0 };
      setSent({ done: 0, total: entries.length });
      for (let start = 0; start < entries.length; start += MAX_ENROLMENTS_PER_IMPORT) {
        const part = entries.slice(start, start + MAX_ENROLMENTS_PER_IMPORT);
        try {
          const result = await client.steward.importEnrolments.mutate({
            datasetId,
            addressKind,
            entries: part,
          });
          totals.inserted += result.inserted;
          totals.skipped += result.skipped;
          totals.enrolled = result.enrolled;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          // Entry indexes in the API's message are within the part: make them file rows.
          throw new Error(
            `${message.replace(/entries\.(\d+)/g, (_, i) => `row ${start + Number(i) + 1}`)} ` +
              `${start > 0 ? `Rows 1–${start} were stored; importing the fixed file again skips them.` : "Nothing was stored."}`,
          );
        }
        setSent({ done: start + part.length, total: entries.length });
      }
      return totals;
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.steward.pathKey() }),
  });

  const choose = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) upload.mutate(file);
    event.target.value = "";
  };

  return (
    <div className={styles.import}>
      <label className="small">
        Import enrolments (CSV: person_id,patient_address for wallets, or person_id,identity_address
        for consent identities){" "}
        <input
          type="file"
          accept=".csv,text/csv"
          data-testid={`import-enrolments-${datasetId}`}
          disabled={upload.isPending}
          onChange={choose}
        />
      </label>
      {upload.isPending && (
        <progress value={sent.done} max={Math.max(sent.total, 1)} aria-label="Import progress" />
      )}
      {upload.data && (
        <p className="small" role="status" data-testid="import-result">
          {upload.data.inserted} enrolled, {upload.data.skipped} already enrolled;{" "}
          {upload.data.enrolled} in all.
        </p>
      )}
      {upload.error && (
        <p className="small error" role="alert" data-testid="import-error">
          {upload.error.message}
        </p>
      )}
    </div>
  );
}
