import {
  apiErrorResponses,
  contentResponse,
  errorResponse,
  jsonBodyErrorResponses,
  jsonRequestBody,
  jsonResponse,
  serviceDocument,
  type OpenApiDocument,
} from '@courseops/kit';
import { z } from 'zod';
import { webhookSchema } from './alerts.js';
import { statusReportSchema } from './report.js';
import { alertsReceiptSchema } from './routes.js';

/** The page and its JSON are always revalidated, never served stale (see statusRoutes). */
const noCache = { 'Cache-Control': z.literal('no-cache') };

/** The status service's `GET /openapi.json` (API.md "Status service"), from the schemas its routes validate with. */
export const statusDocument = (version: string): OpenApiDocument =>
  serviceDocument({
    name: 'status',
    version,
    description: "The platform's status: each service's state and uptime from probes, and incidents from Alertmanager.",
    securitySchemes: { alertWebhookToken: { type: 'http', scheme: 'bearer', description: 'ALERT_WEBHOOK_TOKEN' } },
    paths: {
      '/': {
        get: {
          operationId: 'statusPage',
          summary: 'The public status page',
          responses: {
            200: contentResponse('the page', 'text/html', z.string(), noCache),
            ...apiErrorResponses,
          },
        },
      },
      '/api/status': {
        get: {
          operationId: 'getStatus',
          summary: 'The status page as JSON',
          responses: { 200: jsonResponse('the overall state, each service, and recent incidents (open ones first)', statusReportSchema, noCache), ...apiErrorResponses },
        },
      },
      '/api/alerts': {
        post: {
          operationId: 'receiveAlerts',
          summary: "Alertmanager's webhook (version 4): opens an incident per firing alert, resolves it when resolved",
          security: [{ alertWebhookToken: [] }],
          requestBody: jsonRequestBody(webhookSchema),
          responses: {
            200: jsonResponse('recorded', alertsReceiptSchema),
            ...jsonBodyErrorResponses,
            401: errorResponse('a missing or wrong token; nothing is read', ['unauthorized'], { 'WWW-Authenticate': z.string() }),
            ...apiErrorResponses,
          },
        },
      },
    },
  });
