import type { CliIo } from "./cli-io.js";
import { plural } from "./print.js";

/** Something a file states wrongly, found before anything is sent: where (`line 5`) and what. */
export interface FileProblem {
  where: string;
  message: string;
}

/** Problems printed before "… and N more": a caller counting problems by the million keeps only these. */
export const PROBLEMS_SHOWN = 20;

/**
 * Tells what is wrong in the files given, on stderr: `gatehouse: 2 problems; nothing was <done>`, then a line
 * per problem (at most 20). `counted` may exceed the problems listed (a server reports a count beyond them).
 */
export function printProblems(
  io: CliIo,
  problems: readonly { file: string; problem: FileProblem }[],
  done: string,
  counted = problems.length,
): void {
  const lines = problems
    .slice(0, PROBLEMS_SHOWN)
    .map(({ file, problem }) => `  ${file} ${problem.where}: ${problem.message}`);
  if (counted > PROBLEMS_SHOWN)
    lines.push(`  … and ${(counted - PROBLEMS_SHOWN).toLocaleString("en-US")} more`);
  io.stderr(`gatehouse: ${plural(counted, "problem")}; nothing was ${done}\n${lines.join("\n")}\n`);
}
