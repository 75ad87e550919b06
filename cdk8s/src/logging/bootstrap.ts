import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import * as k8s from '../k8s.js';
import { hardenPodSpec } from '../security/hardening.js';
import { logsCustomComponent, logsIndexTemplate } from './bodies/templates.js';
import { ilmPolicy, slmPolicy, snapshotRepository, type RetentionOptions } from './bodies/retention.js';
import { roles } from './bodies/roles.js';
import { savedObjectsNdjson } from './bodies/saved-objects.js';
import { ELASTIC_RUN_AS, ELASTICSEARCH_IMAGE, LOGGING_NAMESPACE, caSecrets, labelsOf, names, urls } from './names.js';
import { resourceRequirements } from '../resources.js';
import { sizing } from './sizing.js';
import { users } from './users.js';

/** One idempotent Elasticsearch call: PUT of a whole object (creates it or replaces it with the same body). */
export interface ApiStep {
  readonly method: 'PUT';
  readonly path: string;
  /** ConfigMap key of the JSON body. */
  readonly file: string;
  readonly body: Record<string, unknown>;
}

/** A client request type minus its path parameters: the JSON body the API takes. */
function bodyOf<T extends object, K extends keyof T>(request: T, ...pathKeys: K[]): Omit<T, K> {
  const body = { ...request };
  for (const k of pathKeys) delete body[k];
  return body;
}

/**
 * What the Job applies, in order: the snapshot repository before the SLM policy that names it, the
 * ILM policy before the component template that names it, the component template before the index
 * template that composes it, then the roles. Bodies are the typed requests of bodies/*.ts.
 */
export function apiSteps(retention?: RetentionOptions): ApiStep[] {
  const ilm = ilmPolicy(retention);
  const repo = snapshotRepository();
  const slm = slmPolicy();
  const custom = logsCustomComponent();
  const template = logsIndexTemplate();
  const step = (path: string, file: string, body: object): ApiStep => ({ method: 'PUT', path, file, body: body as Record<string, unknown> });
  return [
    step(`/_ilm/policy/${ilm.name}`, 'ilm-policy.json', bodyOf(ilm, 'name')),
    step(`/_snapshot/${repo.name}`, 'snapshot-repository.json', repo.repository ?? {}),
    step(`/_slm/policy/${slm.policy_id}`, 'slm-policy.json', bodyOf(slm, 'policy_id')),
    step(`/_component_template/${encodeURIComponent(custom.name)}`, 'component-template-logs-custom.json', bodyOf(custom, 'name')),
    step(`/_index_template/${template.name}`, 'index-template.json', bodyOf(template, 'name')),
    ...roles.map((r) => step(`/_security/role/${r.name}`, `role-${r.name}.json`, bodyOf(r, 'name'))),
  ];
}

export const SAVED_OBJECTS_FILE = 'saved-objects.ndjson';
const BODIES = '/bodies';
const ES_CA = '/certs/elasticsearch/ca.crt';
const KB_CA = '/certs/kibana/ca.crt';

/**
 * The Job's script (POSIX sh). Waits for Elasticsearch to answer with at least yellow health, PUTs
 * every body (idempotent: running it again changes nothing), waits for Kibana and imports the saved
 * objects with overwrite. Credentials go to curl through a config file on the Job's tmpfs, never on a
 * command line.
 */
export function bootstrapScript(steps: readonly ApiStep[]): string {
  const lines = [
    'set -eu',
    `ES='${urls.elasticsearch}'`,
    `KB='${urls.kibana}'`,
    "umask 077",
    'printf \'user = "%s:%s"\\n\' "$BOOTSTRAP_USERNAME" "$BOOTSTRAP_PASSWORD" > /tmp/curl-auth',
    `es() { curl --silent --show-error --fail-with-body --config /tmp/curl-auth --cacert ${ES_CA} "$@"; }`,
    `kb() { curl --silent --show-error --fail-with-body --config /tmp/curl-auth --cacert ${KB_CA} -H 'kbn-xsrf: courseops' "$@"; }`,
    'until es "$ES/_cluster/health?wait_for_status=yellow&timeout=10s" > /dev/null; do echo "waiting for Elasticsearch"; sleep 5; done',
    ...steps.map((s) => `echo "${s.method} ${s.path}"; es -X ${s.method} "$ES${s.path}" -H 'Content-Type: application/json' --data-binary @${BODIES}/${s.file}; echo`),
    'until kb "$KB/api/status" > /dev/null; do echo "waiting for Kibana"; sleep 5; done',
    `echo "POST /api/saved_objects/_import?overwrite=true"`,
    `result=$(kb -X POST "$KB/api/saved_objects/_import?overwrite=true" --form file=@${BODIES}/${SAVED_OBJECTS_FILE})`,
    'echo "$result"',
    `case "$result" in *'"success":true'*) echo "bootstrap done" ;; *) echo "saved objects import failed" >&2; exit 1 ;; esac`,
    '',
  ];
  return lines.join('\n');
}

export interface LogBootstrapProps {
  readonly retention?: RetentionOptions;
}

/**
 * The Job that applies retention, archiving, templates, roles and Kibana objects as code. Its image is
 * the Elasticsearch image itself, pinned by the same tag: it ships curl and a POSIX shell (Elastic's
 * Docker examples health-check Elasticsearch with curl inside this image), it is already on the node
 * for the cluster (no second pull, nothing more to trust), and it changes only with the stack.
 * The Job's name carries a hash of its bodies and script: a change makes a new Job (a Job's pod
 * template is immutable), and finished Jobs are removed after a day.
 */
export class LogBootstrap extends Construct {
  readonly steps: readonly ApiStep[];
  readonly configMap: k8s.KubeConfigMap;
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: LogBootstrapProps = {}) {
    super(scope, id);
    const labels = labelsOf('bootstrap');
    const namespace = LOGGING_NAMESPACE;
    this.steps = apiSteps(props.retention);
    const script = bootstrapScript(this.steps);
    const data: Record<string, string> = {
      'bootstrap.sh': script,
      ...Object.fromEntries(this.steps.map((s) => [s.file, JSON.stringify(s.body, null, 2) + '\n'])),
      [SAVED_OBJECTS_FILE]: savedObjectsNdjson(),
    };
    const hash = createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 8);
    const configName = `${names.bootstrap}-${hash}`;
    this.jobName = configName;
    this.configMap = new k8s.KubeConfigMap(this, 'Bodies', { metadata: { name: configName, namespace, labels }, data });

    const fromUser = (key: string): k8s.EnvVarSource => ({ secretKeyRef: { name: users.bootstrap.secret, key } });
    const podSpec = hardenPodSpec(
      {
        restartPolicy: 'OnFailure',
        containers: [
          {
            name: 'bootstrap',
            image: ELASTICSEARCH_IMAGE,
            imagePullPolicy: 'IfNotPresent',
            command: ['/bin/sh', `${BODIES}/bootstrap.sh`],
            env: [
              { name: 'BOOTSTRAP_USERNAME', valueFrom: fromUser('username') },
              { name: 'BOOTSTRAP_PASSWORD', valueFrom: fromUser('password') },
            ],
            resources: resourceRequirements(sizing.bootstrap),
            volumeMounts: [
              { name: 'bodies', mountPath: BODIES, readOnly: true },
              { name: 'es-ca', mountPath: '/certs/elasticsearch', readOnly: true },
              { name: 'kb-ca', mountPath: '/certs/kibana', readOnly: true },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'bodies', configMap: { name: configName } },
          // ECK's public CA certificates of the two HTTPS endpoints: the pod starts once ECK made them.
          { name: 'es-ca', secret: { secretName: caSecrets.elasticsearch, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { name: 'kb-ca', secret: { secretName: caSecrets.kibana, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
        ],
      },
      ELASTIC_RUN_AS,
    );
    new k8s.KubeJob(this, 'Job', {
      metadata: { name: configName, namespace, labels },
      spec: {
        backoffLimit: 10,
        activeDeadlineSeconds: 3600,
        ttlSecondsAfterFinished: 86400,
        template: { metadata: { labels }, spec: podSpec },
      },
    });
  }
}
