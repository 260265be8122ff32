import type { RequestHead } from './http-parser.ts';
import { CachedResponse, type ConnectionVariant } from './responses.ts';

/** A file body too large to keep in memory, sent from disk after `head`. */
export interface StreamReply {
  head: Buffer;
  path: string;
  /** Inclusive byte offsets. */
  start: number;
  end: number;
}

export type Reply = Buffer | StreamReply;

/** What answers GET and HEAD requests; the connection layer has already handled other methods. */
export interface Resource {
  /** A reply now when it can (the hot path), or a promise when it has to touch the disk. */
  respond(req: RequestHead, variant: ConnectionVariant, headOnly: boolean): Reply | Promise<Reply>;
  close(): void;
}

/** The payload the seed serves: `bytes` asterisks. */
export function payloadOf(bytes: number): Buffer {
  return Buffer.alloc(bytes, '*');
}

/**
 * The same bytes for every path from memory. `fixed` mirrors the seed's FixedResource (no
 * Content-Type); `data` mirrors twisted.web.static.Data, which names its type.
 */
export function createMemoryResource(payloadBytes: number, contentType: string | null): Resource {
  const response = new CachedResponse(
    200,
    contentType === null ? '' : `Content-Type: ${contentType}\r\n`,
    payloadOf(payloadBytes),
  );
  return {
    respond: (_req, variant, headOnly) => response.get(variant, headOnly),
    close() {},
  };
}
