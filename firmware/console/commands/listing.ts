/**
 * Listings a slice per turn: at most LINES_PER_SLICE lines, and only while the output has room for
 * another (the console calls a step only when it has room for a slice at all).
 */
import type { CommandContext } from "../console.js";
import type { LogTail } from "../tail.js";

const LINES_PER_SLICE = 6;
/** Room a line may take: the longest line a listing prints. */
const LINE_ROOM = 100;

/** A step that prints `next()` lines until it returns undefined. */
export function lineSlices(ctx: CommandContext, next: () => string | undefined): () => boolean {
  return () => {
    for (let n = 0; n < LINES_PER_SLICE && ctx.room >= LINE_ROOM; n++) {
      const line = next();
      if (line === undefined) return true;
      ctx.print(line);
    }
    return false;
  };
}

/** Prints `lines` a slice per turn, then ends the command. */
export function printLines(ctx: CommandContext, lines: readonly string[]): void {
  let i = 0;
  ctx.slices(lineSlices(ctx, () => lines[i++]));
}

/** Reads `tail` a step per turn, then prints what it found a slice per turn (oldest first) and `footer`. */
export function printTail<T>(ctx: CommandContext, tail: LogTail<T>, format: (item: T) => string, footer: (count: number) => string): void {
  let items: T[] | undefined;
  let i = 0;
  const print = lineSlices(ctx, () => {
    if (i < items!.length) return format(items![i++]!);
    if (i++ > items!.length) return undefined;
    return footer(items!.length) + (tail.truncated ? ` (stopped after ${tail.sectors} sectors)` : "");
  });
  ctx.slices(() => {
    if (!tail.done) {
      tail.step();
      return false;
    }
    items ??= tail.items();
    return print();
  });
}
