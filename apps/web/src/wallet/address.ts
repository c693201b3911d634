import { getAddress } from "viem";

/** 0x12Ab…cD34: enough to recognise an address, short enough for a header or a message. */
export const shortAddress = (address: string) => {
  const checksummed = getAddress(address);
  return `${checksummed.slice(0, 6)}…${checksummed.slice(-4)}`;
};
