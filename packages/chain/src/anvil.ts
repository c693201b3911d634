import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { LOCAL_CHAIN_ID } from "./dev-accounts";

const require = createRequire(import.meta.url);

/**
 * The native anvil binary from the npm platform package. Spawning it directly (rather than
 * the package's node wrapper) means a signal reaches anvil itself and no orphan is left.
 */
export function anvilBinaryPath(): string {
  const wrapperDir = dirname(require.resolve("@foundry-rs/anvil/package.json"));
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${arch}/package.json`;
  const platformDir = dirname(require.resolve(platformPackage, { paths: [wrapperDir] }));
  return join(platformDir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export interface AnvilOptions {
  port?: number;
  /** Load this state file at start and dump to it on exit (keeps the chain across runs). */
  stateFile?: string;
  /** Seconds between blocks; without it anvil mines one block per transaction. */
  blockTime?: number;
  onOutput?: (line: string) => void;
  /** Run in its own process group, so a terminal's Ctrl-C reaches only whoever supervises it. */
  detached?: boolean;
}

export interface RunningAnvil {
  rpcUrl: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

async function rpcAnswers(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return response.ok;
  } catch {
    return false;
  }
}

export async function startAnvil(options: AnvilOptions = {}): Promise<RunningAnvil> {
  const port = options.port ?? (await freePort());
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--chain-id",
    String(LOCAL_CHAIN_ID),
  ];
  if (options.stateFile) args.push("--state", options.stateFile);
  if (options.blockTime) args.push("--block-time", String(options.blockTime));
  const child = spawn(anvilBinaryPath(), args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const line of chunk.toString().split("\n")) if (line) options.onOutput?.(line);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );

  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await rpcAnswers(rpcUrl))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `anvil did not start on port ${port}: ${output.trim().split("\n").slice(-3).join(" ")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    rpcUrl,
    port,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
