/** A progress bar on a terminal, a line per tenth of the work elsewhere (CI logs). */
export function progressBar(label: string, total: number) {
  const tty = process.stdout.isTTY;
  const started = performance.now();
  let lastDecile = -1;
  return {
    update(done: number) {
      const fraction = total === 0 ? 1 : Math.min(done / total, 1);
      if (tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        process.stdout.write(
          `\r  ${label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")}`,
        );
      } else if (Math.floor(fraction * 10) > lastDecile) {
        lastDecile = Math.floor(fraction * 10);
        process.stdout.write(`  ${label}: ${done}/${total}\n`);
      }
    },
    done() {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (tty) process.stdout.write("\n");
      process.stdout.write(`  ${label}: ${total.toLocaleString("en-US")} in ${seconds} s\n`);
    },
  };
}
