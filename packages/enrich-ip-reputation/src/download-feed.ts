import { FeedError } from "./errors/feed-error.js";
import type { FeedBlocklistSource } from "./load-blocklists.js";

/** The validators of the copy we hold, for a conditional request. */
export interface FeedValidators {
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
}

export type FeedDownload =
  | { readonly status: "modified"; readonly text: string; readonly validators: FeedValidators }
  | { readonly status: "not-modified" };

/** The largest feed body accepted; the biggest public aggregate lists are a few megabytes. */
const MAX_FEED_BYTES = 64 * 1024 * 1024;

/**
 * Downloads a feed with a deadline on the whole transfer, conditionally when validators are given (a 304
 * costs the server and us almost nothing). Rejects with a FeedError on a network error, the deadline, an
 * HTTP status other than 2xx and 304, or a body over MAX_FEED_BYTES.
 */
export async function downloadFeed(
  feed: FeedBlocklistSource,
  options: FeedValidators & { readonly timeoutMs: number; readonly maxBytes?: number },
): Promise<FeedDownload> {
  const maxBytes = options.maxBytes ?? MAX_FEED_BYTES;
  const headers: Record<string, string> = { accept: "text/plain, application/json;q=0.9, */*;q=0.5" };
  if (options.etag) headers["if-none-match"] = options.etag;
  if (options.lastModified) headers["if-modified-since"] = options.lastModified;
  const fail = (reason: string, cause?: unknown) => new FeedError(feed.name, feed.url, reason, cause);
  try {
    const response = await fetch(feed.url, { headers, signal: AbortSignal.timeout(options.timeoutMs) });
    if (response.status === 304) {
      await response.body?.cancel();
      return { status: "not-modified" };
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw fail(`HTTP ${response.status}`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > maxBytes) throw fail(`the body is larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
    return {
      status: "modified",
      text: Buffer.concat(chunks).toString("utf8"),
      validators: {
        etag: response.headers.get("etag") ?? undefined,
        lastModified: response.headers.get("last-modified") ?? undefined,
      },
    };
  } catch (error) {
    if (error instanceof FeedError) throw error;
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    const reason = timedOut
      ? `no complete answer within ${options.timeoutMs} ms`
      : `download failed (${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)})`;
    throw fail(reason, error);
  }
}
