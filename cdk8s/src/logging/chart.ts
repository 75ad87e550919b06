import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { PlatformConfig } from '../config.js';
import type { Hosts } from '../hosts.js';
import type { SecretRegistry } from '../secrets.js';
import { defaultRetention, type RetentionOptions } from './bodies/retention.js';
import { LogBootstrap } from './bootstrap.js';
import { LogStore } from './elasticsearch.js';
import { LogShipper } from './filebeat.js';
import { LogUi } from './kibana.js';
import { LogPipeline } from './logstash.js';
import { LoggingPolicies } from './policies.js';
import { declareUsers } from './users.js';

export interface LoggingChartProps extends ChartProps {
  readonly hosts: Hosts;
  readonly secrets: SecretRegistry;
  /** Sizes, StorageClass, and the profile (`service.environment` of every log event). */
  readonly config: PlatformConfig;
  readonly retention?: RetentionOptions;
}

/**
 * Log management (issue 5): Filebeat -> Logstash -> Elasticsearch -> Kibana, managed by the ECK
 * operator (Helm release eck-operator, namespace elastic-system), with retention, snapshots, templates,
 * roles and Kibana objects applied by the bootstrap Job. See docs/logging.md.
 */
export class LoggingChart extends Chart {
  readonly pipeline: LogPipeline;
  readonly bootstrap: LogBootstrap;

  constructor(scope: Construct, id: string, props: LoggingChartProps) {
    super(scope, id, props);
    const fileRealmSecrets = declareUsers(props.secrets);
    new LogStore(this, 'Elasticsearch', { fileRealmSecrets, config: props.config });
    new LogUi(this, 'Kibana', { host: props.hosts.kibana });
    this.pipeline = new LogPipeline(this, 'Logstash', { environment: props.config.profile, config: props.config });
    new LogShipper(this, 'Filebeat');
    this.bootstrap = new LogBootstrap(this, 'Bootstrap', { retention: props.retention ?? defaultRetention });
    new LoggingPolicies(this, 'Policies');
  }
}
