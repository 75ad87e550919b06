import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request context, so log lines and outbound calls find the request id without passing it around. */
export interface RequestContext {
  requestId: string;
  /**
   * The end user's address as this service sees it (`req.ip`: the socket peer, or the client a trusted
   * proxy forwarded). Outbound calls made on the user's behalf forward it, so the next service counts
   * them against that user (API.md "limits").
   */
  clientAddress?: string | undefined;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId;

/**
 * The headers every outbound call made while serving a request carries: its request id and, as
 * `X-Forwarded-For`, the user it is made for. Read them when the call starts (a retry timer may run
 * outside the request's context).
 */
export function onBehalfOfHeaders(): Record<string, string> {
  const store = requestContext.getStore();
  const headers: Record<string, string> = {};
  if (store?.requestId) headers['X-Request-Id'] = store.requestId;
  if (store?.clientAddress) headers['X-Forwarded-For'] = store.clientAddress;
  return headers;
}
