"use client";
import type { ReactNode } from "react";
import { ApiProvider } from "~/trpc/react";

export function Providers({ children }: { children: ReactNode }) {
  return <ApiProvider>{children}</ApiProvider>;
}
