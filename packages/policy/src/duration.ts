import { z } from "zod";

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
const DURATION = /^(\d+)\s*([smhd])$/;
const MAX_SECONDS = 7 * 86_400;

/** A duration in whole seconds, written `30s`, `10m`, `1h`, `1d` or as a number of seconds; 1 s to 7 days. */
export const durationSeconds = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const match = typeof value === "string" ? DURATION.exec(value.trim()) : null;
  const seconds =
    typeof value === "number"
      ? value
      : match
        ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS]
        : Number.NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
    ctx.addIssue({ code: "custom", message: "a duration from 1s to 7d, like 30s, 10m, 1h or 1d" });
    return z.NEVER;
  }
  return seconds;
});
