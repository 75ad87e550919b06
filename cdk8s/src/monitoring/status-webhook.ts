/**
 * How Alertmanager reaches the status page, in one place (API.md "Status service"): the route it posts
 * notifications to, the env variable the status service reads the bearer token from, and the Secret the
 * bring-up generates it into (Alertmanager gets a copy in its own namespace). The status declaration,
 * the Alertmanager config, the Secrets and the local stack of `npm run dev` all read these.
 */
export const STATUS_WEBHOOK = {
  path: '/api/alerts',
  tokenEnv: 'ALERT_WEBHOOK_TOKEN',
  secret: { name: 'status-alert-webhook', key: 'token' },
} as const;
