/**
 * First-load JavaScript per route of a `next build` (Next 16 no longer prints sizes): the
 * root main files every page loads plus the entry chunks of each segment on the route's
 * path (layouts, loading and error boundaries, the page), read from the build manifests.
 * Polyfills (nomodule, not loaded by current browsers) are left out.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";

export interface RouteJs {
  route: string;
  chunks: number;
  bytes: number;
  gzipBytes: number;
}

function clientReferenceManifests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return clientReferenceManifests(path);
    return entry.name === "page_client-reference-manifest.js" ? [path] : [];
  });
}

/** `entryJSFiles` of one page's client reference manifest: segment module -> chunks. */
function entryFiles(manifestPath: string): Record<string, string[]> {
  const holder: { __RSC_MANIFEST?: Record<string, { entryJSFiles?: Record<string, string[]> }> } =
    {};
  new Function("globalThis", readFileSync(manifestPath, "utf8"))(holder);
  return Object.values(holder.__RSC_MANIFEST ?? {})[0]?.entryJSFiles ?? {};
}

export function firstLoadJs(nextDir: string): RouteJs[] {
  const build = JSON.parse(readFileSync(join(nextDir, "build-manifest.json"), "utf8")) as {
    rootMainFiles: string[];
  };
  const appDir = join(nextDir, "server", "app");
  const sizes = new Map<string, { bytes: number; gzipBytes: number }>();
  const sizeOf = (file: string) => {
    let size = sizes.get(file);
    if (!size) {
      const content = readFileSync(join(nextDir, file));
      size = { bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
      sizes.set(file, size);
    }
    return size;
  };

  return clientReferenceManifests(appDir)
    .map((manifestPath) => {
      // server/app/datasets/[id]/page_client-reference-manifest.js -> /datasets/[id]
      const segments = relative(appDir, manifestPath).split(sep).slice(0, -1);
      const route = `/${segments.join("/")}`;
      const files = new Set(build.rootMainFiles);
      for (const [module, chunks] of Object.entries(entryFiles(manifestPath))) {
        // "[project]/apps/web/src/app/datasets/layout" -> ["datasets"], "layout"
        const match = /\/src\/app\/(?:(.*)\/)?([^/]+)$/.exec(module);
        if (!match) continue; // Next's own global error page: only when the root layout fails.
        const dir = match[1] ? match[1].split("/") : [];
        const onPath = dir.every((part, i) => segments[i] === part);
        const isOwnPage = match[2] === "page" && dir.length === segments.length;
        if (onPath && (match[2] !== "page" || isOwnPage)) {
          for (const chunk of chunks) files.add(chunk);
        }
      }
      let bytes = 0;
      let gzipBytes = 0;
      for (const file of files) {
        const size = sizeOf(file);
        bytes += size.bytes;
        gzipBytes += size.gzipBytes;
      }
      return { route, chunks: files.size, bytes, gzipBytes };
    })
    .filter((row) => !row.route.startsWith("/_"))
    .sort((a, b) => a.route.localeCompare(b.route));
}
