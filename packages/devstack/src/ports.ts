import { createServer } from "node:net";
import { ConfigError } from "./env";

/** Fails with one sentence naming the setting when the port is taken. */
export async function assertPortFree(port: number, settingName: string): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
  if (!free) {
    throw new ConfigError(
      `Port ${port} (${settingName}) is already in use: stop whatever is listening there or set ${settingName} to a free port.`,
    );
  }
}

/** Polls an HTTP URL until it answers (any status) or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return false;
}
