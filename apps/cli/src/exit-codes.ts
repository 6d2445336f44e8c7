// The `gatehouse` command's exit codes, in one place so each command can return them; `gatehouse help`
// documents them.

export const EXIT_OK = 0;
/** No answer: the ingress, or the Redis that `explain` reads, could not be reached. */
export const EXIT_NETWORK = 1;
/** The command line, the environment or the policy file is wrong; the message names what. */
export const EXIT_USAGE = 2;
/** `policy test`: an expectation was not met, or a case could not be evaluated. */
export const EXIT_POLICY_FAILED = 3;
/** `explain`: no audit record with that interceptor id in what the audit stream keeps. */
export const EXIT_NOT_FOUND = 4;
/** `status`: something needs attention (listed in its output). */
export const EXIT_ATTENTION = 5;
