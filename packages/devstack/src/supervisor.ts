import { type ChildProcess, spawn } from "node:child_process";

const colors = ["\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m"];
const reset = "\x1b[0m";

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Signals the child's whole process group (next start forks workers of its own). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

interface RunningService {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * Runs the long-lived children of the dev stack. Their output is prefixed with their name;
 * if one dies on its own, every other is stopped and the stack exits, so a half-running
 * stack never pretends to work.
 */
export class Supervisor {
  private readonly services: RunningService[] = [];
  private stopping = false;
  private readonly useColor = process.stdout.isTTY;

  constructor(private readonly onUnexpectedExit: (name: string, code: number | null) => void) {}

  log(name: string, line: string): void {
    const index = this.services.findIndex((service) => service.name === name);
    const color = this.useColor ? (colors[Math.max(index, 0) % colors.length] ?? "") : "";
    process.stdout.write(`${color}${name.padEnd(8)}${this.useColor ? reset : ""}| ${line}\n`);
  }

  adopt(name: string, child: ChildProcess): void {
    const exited = new Promise<void>((resolve) =>
      child.once("exit", (code) => {
        resolve();
        if (!this.stopping) this.onUnexpectedExit(name, code);
      }),
    );
    this.services.push({ name, child, exited });
  }

  start(spec: ServiceSpec): ChildProcess {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: Ctrl-C reaches only the supervisor, which stops the children
      // in order (web and operator before the chain, so anvil can save its state last).
      detached: true,
    });
    this.adopt(spec.name, child);
    let pending = "";
    const forward = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) this.log(spec.name, line);
    };
    child.stdout?.on("data", forward);
    child.stderr?.on("data", forward);
    return child;
  }

  /** SIGTERM to every child (newest first), SIGKILL to what is still alive after 8 s. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const service of [...this.services].reverse()) {
      if (service.child.exitCode !== null || service.child.signalCode !== null) continue;
      signalGroup(service.child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(service.child, "SIGKILL"), 8_000);
      await service.exited;
      clearTimeout(timer);
    }
  }
}
