/**
 * For `z.preprocess`: an environment variable set to "" counts as unset, so `FOO=` in an env file falls
 * back to the default, as it does for a shell user.
 */
export const unsetIfEmpty = (value: unknown) => (value === "" ? undefined : value);

/** The items of a comma-separated setting, trimmed, blanks dropped. */
export const commaList = (value: string) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
