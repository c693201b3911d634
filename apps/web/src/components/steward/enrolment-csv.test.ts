import { describe, expect, it } from "vitest";
import { parseEnrolmentCsv } from "./enrolment-csv";

const wallet = "0x70997970C51812dc3A010C7d01b50e0D17dc79C8";

describe("the enrolment CSV", () => {
  it("reads wallets by default and identities when the header says so", () => {
    expect(parseEnrolmentCsv(`person_id,patient_address\n12,${wallet}`)).toEqual({
      addressKind: "wallet",
      entries: [{ personId: "12", patientAddress: wallet }],
    });
    expect(parseEnrolmentCsv(`12,${wallet}`).addressKind).toBe("wallet");
    expect(parseEnrolmentCsv(`person_id,identity_address\n12,${wallet}\n`)).toEqual({
      addressKind: "identity",
      entries: [{ personId: "12", patientAddress: wallet }],
    });
  });

  it("names the first bad line", () => {
    expect(() => parseEnrolmentCsv(`person_id,identity_address\n12,0x12`)).toThrow(
      /Line 2: "0x12" is not an address/,
    );
    expect(() => parseEnrolmentCsv("person_id,identity_address\n")).toThrow(/no enrolments/);
  });
});
