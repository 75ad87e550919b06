/**
 * The Alertmanager configuration: alertmanager.yaml (one object, carried by the kube-prometheus-stack values
 * `alertmanager.config` and written by synth to dist/alertmanager/alertmanager.yaml) plus one
 * AlertmanagerConfig resource for Discord (dist/manifests/06-alerting.yaml).
 *
 * Routing by severity: critical -> status page webhook, Slack, Discord, email; warning -> status page
 * webhook, Slack; info -> nobody (visible in the Alertmanager UI only); anything else -> the root
 * receiver `null` (kept: the operator keeps the old configuration when the receiver the chart's
 * defaults refer to is missing). A critical alert of a service inhibits that service's warnings.
 *
 * Why Discord is not in alertmanager.yaml: kube-prometheus-stack always renders `alertmanagerConfigSelector`,
 * so the Prometheus Operator (v0.93.0) parses alertmanager.yaml itself, strictly, into its own types
 * (pkg/alertmanager/types.go, `alertmanagerConfigFromBytes`: upstream `config.Load`, then
 * `yaml.UnmarshalStrict`). Its `discordConfig` has `webhook_url` but no `webhook_url_file`
 * (prometheus-operator#7159), and a literal `webhook_url` would put the URL into the Helm values and dist/.
 * So Discord is an AlertmanagerConfig whose `discordConfigs[].apiURL` names a key of a Secret: the
 * operator reads it from the API and writes it only into the configuration Secret it generates.
 * The operator merges that resource's route in front of the routes of alertmanager.yaml with
 * `continue: true`, names its receiver `<namespace>/<name>/<receiver>`, and with the default matcher
 * strategy (`OnNamespace`) would add `namespace="<its namespace>"` to its route, which would keep every
 * courseops alert away from Discord: the Alertmanager uses `OnNamespaceExceptForAlertmanagerNamespace`
 * and the resource lives in the Alertmanager's namespace, so no matcher is added. Its route repeats the
 * routing of the rest (critical only, never Watchdog/InfoInhibitor, grouped alike); inhibition is global.
 *
 * Every other URL, token and password is read from a file of a Secret that the Prometheus Operator mounts
 * at /etc/alertmanager/secrets/<secret>/<key> (alertmanagerSpec.secrets); the Secrets are created at
 * deploy time (dist/secrets.json), never written to git or dist/.
 */
import type { Construct } from 'constructs';
import {
  AlertmanagerConfig as AmcResource,
  AlertmanagerConfigSpecRouteMatchersMatchType,
} from '../../imports/alertmanagerconfig-monitoring.coreos.com.js';
import { NAMESPACE_NAME_LABEL } from '../labels.js';
import type { SecretSpec } from '../secrets.js';

/** Where the Prometheus Operator mounts each Secret listed in alertmanagerSpec.secrets. */
export const ALERTMANAGER_SECRETS_DIR = '/etc/alertmanager/secrets';
/** Bearer token for the status service's POST /api/alerts (a copy of courseops/status-alert-webhook). */
export const ALERTMANAGER_WEBHOOK_SECRET = 'alertmanager-status-webhook';
/**
 * Slack and Discord webhook URLs and the SMTP password, provided by whoever runs the platform. Slack's and
 * the password are read by Alertmanager from the mounted files; Discord's by the operator from the API
 * (the AlertmanagerConfig's apiURL), which writes it into the configuration Secret it generates.
 */
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
  readonly email_configs?: readonly EmailConfig[];
}

export interface InhibitRule {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal: readonly string[];
}

/**
 * alertmanager.yaml. Only fields of the Prometheus Operator's own configuration types (v0.93.0
 * pkg/alertmanager/types.go) may appear: it rejects the whole file otherwise (test: monitoring-alertmanager).
 * `global` and `templates` restate the chart's defaults of `alertmanager.config` (values.yaml of
 * kube-prometheus-stack 88.2.0), so that Helm's merge of our values over them adds nothing and this
 * object is exactly the file the chart renders.
 */
export interface AlertmanagerConfig {
  readonly global: { readonly resolve_timeout: string };
  readonly route: Route;
  readonly receivers: readonly Receiver[];
  readonly inhibit_rules: readonly InhibitRule[];
  readonly templates: readonly string[];
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

/** kube-prometheus-stack's always-firing heartbeat and its info inhibitor: never notified. */
export const SILENT_ALERTNAMES = 'Watchdog|InfoInhibitor';
/** Critical alerts repeat every 4 h on the paging receivers (Discord, email), not 12 h. */
const CRITICAL_REPEAT_INTERVAL = '4h';

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
    global: { resolve_timeout: '5m' },
    route: {
      receiver: r.none,
      group_by: [...GROUP_BY],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '12h',
      routes: [
        // Discord: the AlertmanagerConfig's route, which the operator puts before these (see discordAlertmanagerConfig).
        { receiver: r.none, matchers: [`alertname=~"${SILENT_ALERTNAMES}"`] },
        { receiver: r.statusPage, matchers: ['severity=~"critical|warning"'], continue: true },
        { receiver: r.slack, matchers: ['severity=~"critical|warning"'], continue: true },
        { receiver: r.email, matchers: [severity('critical')], repeat_interval: CRITICAL_REPEAT_INTERVAL },
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
    // The chart's default is a glob under /etc/alertmanager/config/; the platform has no template files.
    templates: [],
  };
}

// --- Discord: an AlertmanagerConfig resource (see the header for why)

/** The AlertmanagerConfig resource that routes critical alerts to Discord (namespace: the Alertmanager's). */
export const DISCORD_ALERTMANAGER_CONFIG = 'courseops-discord';
/** The label the Alertmanager selects AlertmanagerConfig resources by (alertmanagerSpec.alertmanagerConfigSelector). */
export const ALERTMANAGER_CONFIG_SELECTOR_LABEL = { key: 'courseops.io/alertmanager-config', value: 'true' } as const;
/**
 * The matcher strategy of the Alertmanager: resources in its own namespace (ours) get no
 * `namespace="<namespace>"` matcher; any other namespace's would (the operator's default, `OnNamespace`,
 * would also confine ours to alerts of the monitoring namespace).
 */
export const ALERTMANAGER_CONFIG_MATCHER_STRATEGY = 'OnNamespaceExceptForAlertmanagerNamespace' as const;

/** How the Alertmanager selects AlertmanagerConfig resources (the kube-prometheus-stack alertmanagerSpec keys). */
export const alertmanagerConfigSelection = (namespace: string) => ({
  alertmanagerConfigSelector: { matchLabels: { [ALERTMANAGER_CONFIG_SELECTOR_LABEL.key]: ALERTMANAGER_CONFIG_SELECTOR_LABEL.value } },
  // Only its own namespace (kubernetes.io/metadata.name is set by the API server on every namespace).
  alertmanagerConfigNamespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
  alertmanagerConfigMatcherStrategy: { type: ALERTMANAGER_CONFIG_MATCHER_STRATEGY },
});

/**
 * The Discord AlertmanagerConfig, typed from the CRD (imports/alertmanagerconfig-monitoring.coreos.com.ts).
 * Its route matches what the routes of alertmanager.yaml send to the paging receivers: severity critical,
 * never the chart's Watchdog/InfoInhibitor, grouped by GROUP_BY, repeated every 4 h. The operator puts it
 * first among the root's routes with `continue: true` (set here too, so the object says what happens),
 * so the routes after it still see every alert. The webhook URL is the `discord-webhook-url` key of the
 * alertmanager-receivers Secret (dist/secrets.json), read by the operator through the API and written only
 * into the configuration Secret it generates (the Secret is also mounted into Alertmanager for Slack's
 * URL and the SMTP password; Alertmanager never reads this key from there).
 */
export function discordAlertmanagerConfig(scope: Construct, id: string, namespace: string, labels: Readonly<Record<string, string>>): AmcResource {
  const r = receiverNames;
  return new AmcResource(scope, id, {
    metadata: {
      name: DISCORD_ALERTMANAGER_CONFIG,
      namespace,
      labels: { ...labels, [ALERTMANAGER_CONFIG_SELECTOR_LABEL.key]: ALERTMANAGER_CONFIG_SELECTOR_LABEL.value },
    },
    spec: {
      route: {
        receiver: r.discord,
        matchers: [
          { name: 'severity', matchType: AlertmanagerConfigSpecRouteMatchersMatchType.VALUE_EQUALS, value: 'critical' },
          { name: 'alertname', matchType: AlertmanagerConfigSpecRouteMatchersMatchType.VALUE_NEGATION_TILDE, value: SILENT_ALERTNAMES },
        ],
        groupBy: [...GROUP_BY],
        repeatInterval: CRITICAL_REPEAT_INTERVAL,
        continue: true,
      },
      receivers: [
        {
          name: r.discord,
          discordConfigs: [
            {
              apiUrl: { name: ALERTMANAGER_RECEIVERS_SECRET, key: receiverSecretKeys.discordWebhookUrl },
              sendResolved: true,
              title: slackTitle,
              message: alertLines,
            },
          ],
        },
      ],
    },
  });
}
