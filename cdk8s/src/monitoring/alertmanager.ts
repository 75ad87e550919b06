/**
 * The Alertmanager configuration (alertmanager.yaml): one object, carried by the kube-prometheus-stack
 * values (`alertmanager.config`) and written by synth to dist/alertmanager/alertmanager.yaml.
 *
 * Routing by severity: critical -> status page webhook, Slack, Discord, email; warning -> status page
 * webhook, Slack; info -> nobody (visible in the Alertmanager UI only); anything else -> the root
 * receiver `null` (kept: the operator keeps the old configuration when the receiver the chart's
 * defaults refer to is missing). Every URL, token and password is read from a file of a Secret that
 * the Prometheus Operator mounts at /etc/alertmanager/secrets/<secret>/<key> (alertmanagerSpec.secrets);
 * the Secrets are created at deploy time (dist/secrets.json), never written to git or dist/.
 */
import type { SecretSpec } from '../secrets.js';

/** Where the Prometheus Operator mounts each Secret listed in alertmanagerSpec.secrets. */
export const ALERTMANAGER_SECRETS_DIR = '/etc/alertmanager/secrets';
/** Bearer token for the status service's POST /api/alerts (a copy of courseops/status-alert-webhook). */
export const ALERTMANAGER_WEBHOOK_SECRET = 'alertmanager-status-webhook';
/** Slack and Discord webhook URLs and the SMTP password, provided by whoever runs the platform. */
export const ALERTMANAGER_RECEIVERS_SECRET = 'alertmanager-receivers';

export const receiverSecretKeys = {
  slackWebhookUrl: 'slack-webhook-url',
  discordWebhookUrl: 'discord-webhook-url',
  smtpPassword: 'smtp-password',
} as const;

/**
 * Where `npm run up` reads the receiver credentials (`fromFile`, relative to the repository, then to dist/):
 * put the real values in `<repo>/.data/alertmanager/<key>` (.data/ is git-ignored), without a trailing
 * newline (`printf %s "$URL" > .data/alertmanager/slack-webhook-url`). Synth writes placeholders under
 * `dist/.data/alertmanager/` so that a bring-up without them still works: Slack, Discord and email then fail
 * to deliver (Alertmanager logs it; `.invalid` never resolves), the status page still gets every alert.
 */
export const RECEIVER_FILES_DIR = '.data/alertmanager';
export const receiverPlaceholders: Readonly<Record<string, string>> = {
  [receiverSecretKeys.slackWebhookUrl]: 'https://receiver-not-configured.invalid/slack',
  [receiverSecretKeys.discordWebhookUrl]: 'https://receiver-not-configured.invalid/discord',
  [receiverSecretKeys.smtpPassword]: 'not-configured',
};

export function alertmanagerReceiversSecret(namespace: string): SecretSpec {
  return {
    namespace,
    name: ALERTMANAGER_RECEIVERS_SECRET,
    keys: Object.values(receiverSecretKeys).map((key) => ({ key, fromFile: `${RECEIVER_FILES_DIR}/${key}` })),
  };
}

export const secretFile = (secret: string, key: string) => `${ALERTMANAGER_SECRETS_DIR}/${secret}/${key}`;

// --- configuration file types (the subset the platform writes; field names as in Alertmanager's docs)

export interface Route {
  readonly receiver: string;
  readonly matchers?: readonly string[];
  readonly group_by?: readonly string[];
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly continue?: boolean;
  readonly routes?: readonly Route[];
}

export interface HttpConfig {
  readonly authorization?: { readonly type: 'Bearer'; readonly credentials_file: string };
}

/** Alerts per status-page notification: up to about 1.6 KiB each, under the service's 16 KiB body limit. */
export const STATUS_WEBHOOK_MAX_ALERTS = 8;

export interface WebhookConfig {
  readonly url: string;
  readonly send_resolved: boolean;
  readonly max_alerts?: number;
  readonly http_config: HttpConfig;
}

export interface SlackConfig {
  readonly api_url_file: string;
  readonly channel: string;
  readonly send_resolved: boolean;
  readonly title: string;
  readonly text: string;
}

/** `webhook_url_file` needs Alertmanager >= 0.27 (the chart runs 0.28+; Debian's amtool 0.25 rejects it). */
export interface DiscordConfig {
  readonly webhook_url_file: string;
  readonly send_resolved: boolean;
  readonly title: string;
  readonly message: string;
}

export interface EmailConfig {
  readonly to: string;
  readonly from: string;
  readonly smarthost: string;
  readonly auth_username: string;
  readonly auth_password_file: string;
  readonly require_tls: boolean;
  readonly send_resolved: boolean;
}

export interface Receiver {
  readonly name: string;
  readonly webhook_configs?: readonly WebhookConfig[];
  readonly slack_configs?: readonly SlackConfig[];
  readonly discord_configs?: readonly DiscordConfig[];
  readonly email_configs?: readonly EmailConfig[];
}

export interface InhibitRule {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal: readonly string[];
}

export interface AlertmanagerConfig {
  readonly route: Route;
  readonly receivers: readonly Receiver[];
  readonly inhibit_rules: readonly InhibitRule[];
}

/** Non-secret receiver settings (addresses, channel): change them here. */
export interface ReceiverSettings {
  readonly slackChannel: string;
  readonly email: { readonly to: string; readonly from: string; readonly smarthost: string; readonly username: string };
}

export const receiverSettingsFor = (domain: string): ReceiverSettings => ({
  slackChannel: '#courseops-alerts',
  email: { to: `oncall@${domain}`, from: `alertmanager@${domain}`, smarthost: `smtp.${domain}:587`, username: `alertmanager@${domain}` },
});

export interface AlertmanagerConfigOptions {
  /** The status service's POST /api/alerts (from its declaration). */
  readonly statusWebhookUrl: string;
  readonly receivers: ReceiverSettings;
}

/** Receiver names: the routing tree and the tests refer to them. */
export const receiverNames = {
  none: 'null',
  statusPage: 'status-page',
  slack: 'slack',
  discord: 'discord',
  email: 'email',
} as const;

/** Labels alerts are grouped by: one notification per alert and service. */
export const GROUP_BY = ['alertname', 'namespace', 'service'] as const;

const slackTitle =
  '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}' +
  '{{ with .CommonLabels.service }} ({{ . }}){{ end }}';
const alertLines =
  '{{ range .Alerts }}{{ if .Annotations.summary }}*{{ .Annotations.summary }}*{{ end }}\n{{ .Annotations.description }}\n' +
  '{{ if .Annotations.runbook_url }}Runbook: {{ .Annotations.runbook_url }}\n{{ end }}{{ end }}';

export function alertmanagerConfig(options: AlertmanagerConfigOptions): AlertmanagerConfig {
  const r = receiverNames;
  const severity = (value: 'critical' | 'warning' | 'info') => `severity="${value}"`;
  const s = options.receivers;
  return {
    route: {
      receiver: r.none,
      group_by: [...GROUP_BY],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '12h',
      routes: [
        // kube-prometheus-stack's always-firing heartbeat and its info inhibitor: never notified.
        { receiver: r.none, matchers: ['alertname=~"Watchdog|InfoInhibitor"'] },
        { receiver: r.statusPage, matchers: ['severity=~"critical|warning"'], continue: true },
        { receiver: r.slack, matchers: ['severity=~"critical|warning"'], continue: true },
        { receiver: r.discord, matchers: [severity('critical')], repeat_interval: '4h', continue: true },
        { receiver: r.email, matchers: [severity('critical')], repeat_interval: '4h' },
        { receiver: r.none, matchers: [severity('info')] },
      ],
    },
    receivers: [
      { name: r.none },
      {
        name: r.statusPage,
        webhook_configs: [
          {
            url: options.statusWebhookUrl,
            send_resolved: true,
            // The status service takes JSON bodies up to 16 KiB (API.md); a group of more alerts than this
            // would be refused whole, so Alertmanager sends the first ones (groups are per service anyway).
            max_alerts: STATUS_WEBHOOK_MAX_ALERTS,
            http_config: { authorization: { type: 'Bearer', credentials_file: secretFile(ALERTMANAGER_WEBHOOK_SECRET, 'token') } },
          },
        ],
      },
      {
        name: r.slack,
        slack_configs: [
          {
            api_url_file: secretFile(ALERTMANAGER_RECEIVERS_SECRET, receiverSecretKeys.slackWebhookUrl),
            channel: s.slackChannel,
            send_resolved: true,
            title: slackTitle,
            text: alertLines,
          },
        ],
      },
      {
        name: r.discord,
        discord_configs: [
          {
            webhook_url_file: secretFile(ALERTMANAGER_RECEIVERS_SECRET, receiverSecretKeys.discordWebhookUrl),
            send_resolved: true,
            title: slackTitle,
            message: alertLines,
          },
        ],
      },
      {
        name: r.email,
        email_configs: [
          {
            to: s.email.to,
            from: s.email.from,
            smarthost: s.email.smarthost,
            auth_username: s.email.username,
            auth_password_file: secretFile(ALERTMANAGER_RECEIVERS_SECRET, receiverSecretKeys.smtpPassword),
            require_tls: true,
            send_resolved: true,
          },
        ],
      },
    ],
    inhibit_rules: [
      // A critical alert of a service silences that service's warnings (ServiceDown mutes ServiceInstanceDown,
      // HighErrorRatio, the slow burn...). Both sides must name a service: alerts without one (the chart's
      // cluster alerts) would otherwise count as "equal" and mute each other.
      {
        source_matchers: [severity('critical'), 'service=~".+"'],
        target_matchers: [severity('warning'), 'service=~".+"'],
        equal: ['namespace', 'service'],
      },
      // Alerts without a service (kube-prometheus-stack's own rules): the critical twin of an alert mutes its warning.
      {
        source_matchers: [severity('critical')],
        target_matchers: [severity('warning'), 'service=""'],
        equal: ['namespace', 'alertname'],
      },
    ],
  };
}
