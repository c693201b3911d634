import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { AccountMenu } from "~/wallet/account-menu";
import { chainTarget } from "~/wallet/chain-info";
import { Providers } from "./providers";
import "./globals.css";

// The chain (and so the wallet options) comes from the server's environment at request time.
export const dynamic = "force-dynamic";

export const metadata: Metadata = {
  title: "OpenCohort",
  description: "Consented, aggregate-only research on health data, governed on chain.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>
          <header className="site-header">
            <nav>
              <Link href="/" className="brand">
                OpenCohort
              </Link>
              <Link href="/datasets">Catalogue</Link>
              <Link href="/patient">My data</Link>
              <Link href="/steward">Stewards</Link>
              <Link href="/docs/api">API</Link>
            </nav>
            <AccountMenu chain={chainTarget()} />
          </header>
          {children}
        </Providers>
      </body>
    </html>
  );
}
