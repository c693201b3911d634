/** The steward's enrolment CSV (see import-enrolments.tsx). */

export interface EnrolmentEntry {
  personId: string;
  patientAddress: string;
}

export interface EnrolmentCsv {
  /** What the address column holds, from the header (wallets when there is none). */
  addressKind: "wallet" | "identity";
  entries: EnrolmentEntry[];
}

/** Parses the CSV; throws naming the first bad line. A header line is allowed. */
export function parseEnrolmentCsv(text: string): EnrolmentCsv {
  const entries: EnrolmentEntry[] = [];
  let addressKind: EnrolmentCsv["addressKind"] = "wallet";
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (index === 0 && /person/i.test(line)) {
      if (/identity/i.test(line)) addressKind = "identity";
      return;
    }
    if (!line) return;
    const [personId = "", patientAddress = "", ...rest] = line.split(",").map((c) => c.trim());
    if (rest.length > 0 || !/^[1-9]\d{0,18}$/.test(personId)) {
      throw new Error(`Line ${index + 1}: expected "person_id,patient_address", got "${line}".`);
    }
    if (!/^0x[0-9a-fA-F]{40}$/.test(patientAddress)) {
      throw new Error(`Line ${index + 1}: "${patientAddress}" is not an address.`);
    }
    entries.push({ personId, patientAddress });
  });
  if (entries.length === 0) throw new Error("The file has no enrolments.");
  return { addressKind, entries };
}
