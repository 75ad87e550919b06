import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request context, so log lines and outbound calls find the request id without passing it around. */
export interface RequestContext {
  requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId;
