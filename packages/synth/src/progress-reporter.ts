import type { GenerationProgress } from "./generate-cohort";

export interface ProgressReporter {
  update(progress: GenerationProgress): void;
  /** Stops redrawing; leaves the cursor on a fresh line. */
  finish(): void;
}

const BAR_WIDTH = 24;
const TTY_REDRAW_MS = 200;
const LOG_HEARTBEAT_MS = 10_000;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * On a terminal: one bar redrawn in place, with a ticking clock so long stages visibly live.
 * Otherwise (CI logs, pipes): a line per stage and a heartbeat line every 10 s, because
 * carriage returns turn logs into noise.
 */
export function createProgressReporter(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  now: () => number = () => performance.now(),
): ProgressReporter {
  const startedAt = now();
  let current: GenerationProgress | undefined;
  let timer: NodeJS.Timeout | undefined;

  if (stream.isTTY) {
    const draw = () => {
      if (!current) return;
      const fraction = current.total > 0 ? current.done / current.total : 0;
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
      stream.write(
        `\r\x1b[2K[${bar}] ${current.done}/${current.total} ${current.stage}  ${seconds(now() - startedAt)}`,
      );
    };
    timer = setInterval(draw, TTY_REDRAW_MS);
    timer.unref();
    return {
      update(progress) {
        current = progress;
        draw();
      },
      finish() {
        clearInterval(timer);
        if (current) stream.write("\r\x1b[2K");
      },
    };
  }

  timer = setInterval(() => {
    if (current) {
      stream.write(`  ... ${current.stage}, ${seconds(now() - startedAt)} elapsed\n`);
    }
  }, LOG_HEARTBEAT_MS);
  timer.unref();
  return {
    update(progress) {
      current = progress;
      stream.write(
        `[${progress.done}/${progress.total}] ${progress.stage} (${seconds(now() - startedAt)})\n`,
      );
    },
    finish() {
      clearInterval(timer);
    },
  };
}
