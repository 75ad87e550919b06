import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

/**
 * API.md: JSON bodies are UTF-8 only. body-parser alone accepts any `charset=utf-*` (it would decode
 * utf-7 or utf-16 as declared) and replaces invalid UTF-8 bytes with U+FFFD, so altered text would be
 * stored. As express.json's `verify`, this sees the raw body before it is decoded: another declared
 * charset is `415 unsupported_media_type`, bytes that are not UTF-8 are `400 invalid_json`.
 */
export function refuseNonUtf8Body(_req: IncomingMessage, _res: ServerResponse, body: Buffer, charset: string | null): void {
  // body-parser passes the declared charset lowercased, or utf-8 when none is declared.
  if (charset !== 'utf-8') throw new HttpError('unsupported_media_type', 'request body must be UTF-8 (charset=utf-8)');
  if (!isUtf8(body)) throw new HttpError('invalid_json', 'request body is not valid UTF-8');
}
