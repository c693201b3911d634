import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type TestPostgres =
  | { url: string; stop: () => Promise<void> }
  | { url?: undefined; skipReason: string };

/** Newest Debian PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin). */
function serverBinaries(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return majors
    .map((major) => join(root, major, "bin"))
    .find((bin) => existsSync(join(bin, "initdb")) && existsSync(join(bin, "pg_ctl")));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * A PostgreSQL for the tests: OPENCOHORT_TEST_POSTGRES_URL if set, else a throwaway
 * cluster in a temp dir (trust auth, no fsync, a free port on 127.0.0.1), removed at the
 * end. PostgreSQL refuses to run as root, so as root the cluster runs as `postgres`.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env.OPENCOHORT_TEST_POSTGRES_URL;
  if (given) return { url: given, stop: async () => {} };
  const bin = serverBinaries();
  if (bin === undefined) {
    return {
      skipReason:
        "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql) and OPENCOHORT_TEST_POSTGRES_URL is unset",
    };
  }
  const asRoot = process.getuid?.() === 0;
  let run = (command: string, args: string[]) => execFileSync(command, args, { stdio: "pipe" });
  const dir = mkdtempSync(join(tmpdir(), "opencohort-pg-"));
  if (asRoot) {
    const id = (flag: string) =>
      Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    if (Number.isNaN(id("-u")) || spawnSync("id", ["postgres"]).status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      return { skipReason: "running as root and there is no `postgres` user to run the server as" };
    }
    chownSync(dir, id("-u"), id("-g"));
    run = (command, args) =>
      execFileSync("runuser", ["-u", "postgres", "--", command, ...args], { stdio: "pipe" });
  }
  const data = join(dir, "data");
  const port = await freePort();
  try {
    run(join(bin, "initdb"), [
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "postgres",
      "--no-sync",
      "-E",
      "UTF8",
    ]);
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
    ].join(" ");
    run(join(bin, "pg_ctl"), [
      "-D",
      data,
      "-o",
      settings,
      "-l",
      join(dir, "server.log"),
      "-w",
      "-t",
      "30",
      "start",
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return {
      skipReason: `the throwaway PostgreSQL cluster did not start: ${stderr || (error as Error).message}`,
    };
  }
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      try {
        run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
