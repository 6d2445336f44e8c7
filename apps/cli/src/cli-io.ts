/** Where a command writes; the entry passes the process streams, tests pass collectors. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}
