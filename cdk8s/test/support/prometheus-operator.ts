/**
 * What the Prometheus Operator v0.93.0 (kube-prometheus-stack 88.2.0) does with the Alertmanager
 * configuration, as data and a small model, for tests that run without the operator (the box test runs
 * the real one):
 *
 * - `operatorFieldProblems`: the operator parses alertmanager.yaml with `yaml.UnmarshalStrict` into its own
 *   types whenever `alertmanagerConfigSelector` is set (pkg/alertmanager/amcfg.go,
 *   `alertmanagerConfigFromBytes`), so a field those types lack fails the whole file and no Alertmanager
 *   StatefulSet is created. OPERATOR_TYPES lists the YAML keys of the types our file uses, transcribed
 *   from pkg/alertmanager/types.go at v0.93.0 (`yaml:"..."` tags; httpClientConfig inlines proxyConfig).
 * - `mergeAlertmanagerConfigs`: the configuration the operator generates from that file and the selected
 *   AlertmanagerConfig resources (amcfg.go `AddAlertmanagerConfigs`, `convertRoute`, `convertReceiver`,
 *   `convertDiscordConfig`, the enforcers of `getEnforcer`), for the parts our resources use; anything
 *   else throws rather than being guessed.
 */

type Fields = Readonly<Record<string, string | null>>;

/** YAML keys per operator type (null: a scalar or a free-form value; a name: a nested type; `[]` suffix: a list of it). */
export const OPERATOR_TYPES: Readonly<Record<string, Fields>> = {
  alertmanagerConfig: {
    global: 'globalConfig', route: 'route', inhibit_rules: 'inhibitRule[]', receivers: 'receiver[]',
    mute_time_intervals: null, time_intervals: null, templates: null,
  },
  globalConfig: Object.fromEntries(
    [
      'resolve_timeout', 'smtp_from', 'smtp_hello', 'smtp_smarthost', 'smtp_auth_username', 'smtp_auth_password',
      'smtp_auth_password_file', 'smtp_auth_secret', 'smtp_auth_secret_file', 'smtp_auth_identity', 'smtp_require_tls',
      'smtp_tls_config', 'smtp_force_implicit_tls', 'slack_api_url', 'slack_api_url_file', 'pagerduty_url', 'hipchat_api_url',
      'hipchat_auth_token', 'opsgenie_api_url', 'opsgenie_api_key', 'opsgenie_api_key_file', 'wechat_api_url',
      'wechat_api_secret', 'wechat_api_corp_id', 'victorops_api_url', 'victorops_api_key', 'victorops_api_key_file',
      'telegram_api_url', 'telegram_bot_token', 'telegram_bot_token_file', 'webex_api_url', 'jira_api_url',
      'rocketchat_api_url', 'rocketchat_token', 'rocketchat_token_file', 'rocketchat_token_id', 'rocketchat_token_id_file',
      'slack_app_token', 'slack_app_token_file', 'slack_app_url', 'wechat_api_secret_file', 'mattermost_webhook_url',
      'mattermost_webhook_url_file',
    ].map((k) => [k, null]).concat([['http_config', 'httpClientConfig']]),
  ),
  route: {
    receiver: null, group_by: null, match: null, match_re: null, matchers: null, continue: null, routes: 'route[]',
    group_wait: null, group_interval: null, repeat_interval: null, mute_time_intervals: null, active_time_intervals: null,
  },
  inhibitRule: {
    target_match: null, target_match_re: null, target_matchers: null, source_match: null, source_match_re: null,
    source_matchers: null, equal: null,
  },
  receiver: {
    name: null, opsgenie_configs: null, pagerduty_configs: null, slack_configs: 'slackConfig[]', webhook_configs: 'webhookConfig[]',
    wechat_configs: null, email_configs: 'emailConfig[]', pushover_configs: null, victorops_configs: null, sns_configs: null,
    telegram_configs: null, discord_configs: 'discordConfig[]', webex_configs: null, msteams_configs: null,
    msteamsv2_configs: null, jira_configs: null, rocketchat_configs: null, mattermost_configs: null, incidentio_configs: null,
  },
  webhookConfig: { send_resolved: null, url: null, url_file: null, http_config: 'httpClientConfig', max_alerts: null, timeout: null, payload: null },
  slackConfig: Object.fromEntries(
    [
      'send_resolved', 'api_url', 'api_url_file', 'app_token', 'app_token_file', 'app_url', 'channel', 'username', 'color',
      'title', 'title_link', 'pretext', 'text', 'fields', 'short_fields', 'footer', 'fallback', 'callback_id', 'icon_emoji',
      'icon_url', 'image_url', 'thumb_url', 'link_names', 'mrkdwn_in', 'actions', 'timeout', 'message_text', 'update_message',
    ].map((k) => [k, null]).concat([['http_config', 'httpClientConfig']]),
  ),
  // No webhook_url_file: prometheus-operator#7159.
  discordConfig: {
    send_resolved: null, http_config: 'httpClientConfig', webhook_url: null, title: null, message: null, content: null,
    username: null, avatar_url: null,
  },
  emailConfig: {
    send_resolved: null, to: null, from: null, hello: null, smarthost: null, auth_username: null, auth_password: null,
    auth_password_file: null, auth_secret: null, auth_secret_file: null, auth_identity: null, headers: null, html: null,
    text: null, require_tls: null, tls_config: 'tlsConfig', force_implicit_tls: null, threading: null,
  },
  httpClientConfig: {
    authorization: 'authorization', basic_auth: 'basicAuth', oauth2: null, bearer_token: null, bearer_token_file: null,
    tls_config: 'tlsConfig', follow_redirects: null, enable_http2: null, http_headers: null,
    // proxyConfig, inlined
    proxy_url: null, no_proxy: null, proxy_from_environment: null, proxy_connect_header: null,
  },
  authorization: { type: null, credentials: null, credentials_file: null },
  basicAuth: { username: null, password: null, password_file: null },
  tlsConfig: { ca_file: null, cert_file: null, key_file: null, server_name: null, insecure_skip_verify: null, min_version: null, max_version: null },
};

/** Paths of keys the operator's types lack (`.receivers[3].discord_configs[0].webhook_url_file`), with the type that lacks them. */
export function operatorFieldProblems(config: unknown, type = 'alertmanagerConfig', path = ''): string[] {
  const fields = OPERATOR_TYPES[type];
  if (!fields) throw new Error(`no operator type ${type}`);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return [`${path || '.'}: not a mapping (${type})`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!(key in fields)) {
      problems.push(`${path}.${key} (operator type ${type} has no such field)`);
      continue;
    }
    const child = fields[key];
    if (!child || value === null || value === undefined) continue;
    if (child.endsWith('[]')) {
      if (!Array.isArray(value)) problems.push(`${path}.${key}: not a list`);
      else value.forEach((v, i) => problems.push(...operatorFieldProblems(v, child.slice(0, -2), `${path}.${key}[${i}]`)));
    } else problems.push(...operatorFieldProblems(value, child, `${path}.${key}`));
  }
  return problems;
}

// --- the merge of AlertmanagerConfig resources (monitoring.coreos.com/v1alpha1, CRD JSON form)

interface AmcMatcher { name: string; value?: string; matchType?: '=' | '!=' | '=~' | '!~'; regex?: boolean }
interface AmcRoute {
  receiver?: string; groupBy?: string[]; groupWait?: string; groupInterval?: string; repeatInterval?: string;
  matchers?: AmcMatcher[]; continue?: boolean; routes?: unknown[]; muteTimeIntervals?: string[]; activeTimeIntervals?: string[];
}
interface AmcDiscord { apiURL: { name: string; key: string }; sendResolved?: boolean; title?: string; message?: string; content?: string; username?: string; avatarURL?: string; httpConfig?: unknown }
interface AmcReceiver { name: string; discordConfigs?: AmcDiscord[]; [integration: string]: unknown }
export interface AmcObject {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec: { route?: AmcRoute; receivers?: AmcReceiver[]; inhibitRules?: unknown[]; muteTimeIntervals?: unknown[] };
}

export type MatcherStrategy = 'OnNamespace' | 'OnNamespaceExceptForAlertmanagerNamespace' | 'None';

export interface MergeOptions {
  /** The Alertmanager's namespace (OnNamespaceExceptForAlertmanagerNamespace leaves its resources alone). */
  readonly alertmanagerNamespace: string;
  readonly strategy: MatcherStrategy;
  /** A Secret key's value, as the operator reads it (trimmed: `getValidURLFromSecret`). */
  readonly secret: (namespace: string, name: string, key: string) => string;
}

type Yaml = Record<string, unknown>;

/** `openMetricsEscape` + `Matcher.String()` of pkg/apis/monitoring v1alpha1 (matchType form only). */
const matcherString = (m: AmcMatcher) => {
  if (!m.matchType) throw new Error(`matcher ${m.name}: only matchType matchers are modelled`);
  const v = (m.value ?? '').replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
  return `${m.name}${m.matchType}"${v}"`;
};

const need = (cond: boolean, what: string) => {
  if (!cond) throw new Error(`not modelled: ${what}`);
};

/**
 * The configuration the operator generates: the resources sorted by `<namespace>/<name>`, each top-level
 * route converted (receiver `<namespace>/<name>/<receiver>`), the enforcer applied (namespace matcher
 * per strategy, then `continue: true`), all prepended to the root's routes; their receivers appended.
 */
export function mergeAlertmanagerConfigs(base: Yaml, resources: readonly AmcObject[], o: MergeOptions): Yaml {
  const route = { ...(base.route as Yaml) };
  const receivers = [...(base.receivers as Yaml[])];
  const subRoutes: Yaml[] = [];
  const key = (r: AmcObject) => `${r.metadata.namespace}/${r.metadata.name}`;
  for (const amc of [...resources].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))) {
    const { namespace = '', name = '' } = amc.metadata;
    const prefix = (s: string) => `${namespace}/${name}/${s}`;
    need(!amc.spec.inhibitRules?.length && !amc.spec.muteTimeIntervals?.length, 'inhibitRules, muteTimeIntervals');
    const r = amc.spec.route;
    if (!r) continue;
    need(!r.routes?.length && !r.muteTimeIntervals?.length && !r.activeTimeIntervals?.length, 'child routes, time intervals');
    const matchers = (r.matchers ?? []).map(matcherString);
    const enforced = o.strategy === 'None' || (o.strategy === 'OnNamespaceExceptForAlertmanagerNamespace' && namespace === o.alertmanagerNamespace);
    if (!enforced) matchers.push(matcherString({ name: 'namespace', value: namespace, matchType: '=' }));
    subRoutes.push(
      Object.fromEntries(
        Object.entries({
          receiver: r.receiver ? prefix(r.receiver) : undefined,
          group_by: r.groupBy,
          matchers: matchers.length ? matchers : undefined,
          continue: true,
          group_wait: r.groupWait,
          group_interval: r.groupInterval,
          repeat_interval: r.repeatInterval,
        }).filter(([, v]) => v !== undefined),
      ),
    );
    for (const rec of amc.spec.receivers ?? []) {
      const { name: recName, discordConfigs, ...others } = rec;
      need(Object.keys(others).length === 0, `receiver integrations other than discordConfigs (${Object.keys(others).join(', ')})`);
      receivers.push({
        name: prefix(recName),
        ...(discordConfigs?.length
          ? {
              discord_configs: discordConfigs.map((d) => {
                need(!d.httpConfig && !d.content && !d.username && !d.avatarURL, 'discord httpConfig, content, username, avatarURL');
                const url = o.secret(namespace, d.apiURL.name, d.apiURL.key).trim();
                need(/^https?:\/\/[^/]+/.test(url), `a valid URL in Secret ${d.apiURL.name}/${d.apiURL.key}`);
                return Object.fromEntries(
                  Object.entries({ send_resolved: d.sendResolved, webhook_url: url, title: d.title, message: d.message }).filter(([, v]) => v !== undefined),
                );
              }),
            }
          : {}),
      });
    }
  }
  route.routes = [...subRoutes, ...((route.routes as Yaml[] | undefined) ?? [])];
  return { ...base, route, receivers };
}
