import { createHash } from 'node:crypto';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { Rollout, toJson_RolloutSpecStrategy } from '../../imports/rollout-argoproj.io.js';
import { imageOf, type PlatformConfig } from '../config.js';
import { topologySpread } from '../scheduling.js';
import { ROLLOUT_HASH_LABEL } from './monitoring.js';
import { canaryStrategy } from '../delivery/strategy.js';
import { canaryThresholdsFrom } from '../delivery/analysis.js';
import { CanaryAnalysis } from '../delivery/templates.js';
import { thresholdsOf } from '../slo.js';
import * as k8s from '../k8s.js';
import { parseMemory, resourceRequirements } from '../resources.js';
import { appLabels, selectorLabels } from '../labels.js';
import { peers } from '../networking/peers.js';
import { AllowPolicy, type PolicyRule } from '../networking/policies.js';
import { hardenPodSpec } from '../security/hardening.js';
import type { ServiceDecl } from '../services.js';
import { serviceNames, type MixinContext, type PodContribution, type ServiceMixin } from './mixin.js';
import { HostRoute } from '../gateway/host-route.js';
import { serviceUrl } from '../cluster-dns.js';

/** The uid/gid of the service images (USER 10001:10001 in services/Dockerfile). */
export const SERVICE_RUN_AS = { uid: 10001, gid: 10001 } as const;

/**
 * Whose X-Forwarded-For a service believes (API.md "limits"): Traefik's pods (the Gateway's data plane, which
 * sets it to the client it saw) and the courseops services' pods (the teacher service forwards the user it
 * calls the course service for). Both take their addresses from the one pod network (the config's podCidr), so
 * that is the range; the NetworkPolicies below keep all other pods from reaching a service (Prometheus, which
 * may, forwards nothing).
 */
export const trustedProxies = (config: Pick<PlatformConfig, 'podCidr'>): readonly string[] => [config.podCidr];


/** Seconds: preStop sleep (endpoints removal reaches Traefik and kube-proxy) and the app's own readiness drain. */
export const PRE_STOP_SLEEP_SECONDS = 5;
export const SHUTDOWN_DELAY_MS = 5000;
export const TERMINATION_GRACE_SECONDS = 30;

export interface MicroserviceProps extends Omit<MixinContext, 'scope' | 'names' | 'selector'> {
  /** Applied in order after the built-in objects (see defaultMixins). */
  readonly mixins: readonly ServiceMixin[];
}

export const clusterUrl = (decl: ServiceDecl, namespace: string) =>
  serviceUrl(serviceNames(decl.name).stableService, namespace, decl.port);

/**
 * One service of the platform, from its declaration: an Argo Rollout (canary with Gateway API traffic
 * routing and Prometheus analysis, src/delivery) and its AnalysisTemplates, stable/canary/metrics Services, an HTTPRoute,
 * ServiceAccount, ConfigMap, PodDisruptionBudget, HorizontalPodAutoscaler and NetworkPolicies; then
 * the mixins (ServiceMonitor, PostgreSQL, ...).
 */
export class Microservice extends Construct {
  readonly ctx: MixinContext;
  readonly rollout: ApiObject;

  constructor(scope: Construct, id: string, props: MicroserviceProps) {
    super(scope, id);
    const { decl, namespace } = props;
    const names = serviceNames(decl.name);
    const selector = selectorLabels({ name: decl.name, instance: decl.name });
    // The profile's floor (the cluster profile: two, so a node or zone can go with the service still up).
    const minReplicas = Math.max(decl.replicas.min, props.config.minReplicas);
    const replicas = { min: minReplicas, max: Math.max(decl.replicas.max, minReplicas) };
    const labels = appLabels({ name: decl.name, instance: decl.name, component: 'api' });
    const ctx: MixinContext = { ...props, scope: this, names, selector };
    this.ctx = ctx;

    const contributions: PodContribution[] = props.mixins.map((m) => m.contribute?.(ctx) ?? {});

    // --- configuration
    const callers = props.all.filter((s) => s.calls?.some((c) => c.service === decl.name) || s.probes?.includes(decl.name));
    const findService = (name: string) => {
      const found = props.all.find((s) => s.name === name);
      if (!found) throw new Error(`${decl.name} refers to unknown service ${name}`);
      return found;
    };
    const configData: Record<string, string> = {
      PORT: String(decl.port),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
      TRUSTED_PROXIES: trustedProxies(props.config).join(','),
      NODE_OPTIONS: `--max-old-space-size=${Math.floor((parseMemory(decl.resources.limits.memory) / 2 ** 20) * 0.75)}`,
      ...Object.fromEntries((decl.calls ?? []).map((c) => [c.urlEnv, clusterUrl(findService(c.service), namespace)])),
      ...(decl.probes ? { STATUS_TARGETS: decl.probes.map((p) => `${p}=${clusterUrl(findService(p), namespace)}`).join(',') } : {}),
      ...decl.env,
    };
    new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: { name: names.configMap, namespace, labels },
      data: configData,
    });
    const configHash = createHash('sha256').update(JSON.stringify(configData)).digest('hex').slice(0, 16);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: names.serviceAccount, namespace, labels },
      automountServiceAccountToken: false,
    });

    // --- workload
    for (const s of decl.secretEnv ?? []) {
      if (!props.secrets.has(namespace, s.secret, s.key)) {
        props.secrets.add({ namespace, name: s.secret, keys: [{ key: s.key, generate: 'password' }], labels });
      }
    }
    const env: k8s.EnvVar[] = [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ...(decl.secretEnv ?? []).map((s) => ({ name: s.env, valueFrom: { secretKeyRef: { name: s.secret, key: s.key } } })),
      ...contributions.flatMap((c) => c.env ?? []),
    ];
    const http = (path: string) => ({ httpGet: { path, port: k8s.IntOrString.fromString(names.port) } });
    const podSpec = hardenPodSpec(
      {
        serviceAccountName: names.serviceAccount,
        terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
        containers: [
          {
            name: decl.name,
            image: imageOf(props.config, decl.name),
            imagePullPolicy: 'IfNotPresent',
            ports: [{ name: names.port, containerPort: decl.port, protocol: 'TCP' }],
            envFrom: [{ configMapRef: { name: names.configMap } }],
            env,
            resources: resourceRequirements(decl.resources),
            startupProbe: { ...http('/healthz'), periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
            livenessProbe: { ...http('/healthz'), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
            readinessProbe: { ...http('/readyz'), periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
            lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SLEEP_SECONDS)] } } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
        ...topologySpread(props.config, selector, ROLLOUT_HASH_LABEL),
      },
      SERVICE_RUN_AS,
    );
    const template: k8s.PodTemplateSpec = {
      metadata: {
        labels,
        annotations: {
          'courseops.dev/config-hash': configHash,
          ...Object.assign({}, ...contributions.map((c) => c.podAnnotations ?? {})),
        },
      },
      spec: podSpec,
    };
    const strategy = canaryStrategy({ service: decl.name, namespace, names, publicRoute: decl.ingress !== undefined });
    new CanaryAnalysis(this, 'CanaryAnalysis', {
      service: decl.name,
      namespace,
      labels: { ...labels, 'app.kubernetes.io/component': 'delivery' },
      thresholds: canaryThresholdsFrom(thresholdsOf(decl)),
    });
    this.rollout = new ApiObject(this, 'Rollout', {
      ...Rollout.GVK,
      metadata: { name: names.workload, namespace, labels },
      spec: {
        replicas: replicas.min,
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template: k8s.toJson_PodTemplateSpec(template),
        strategy: toJson_RolloutSpecStrategy(strategy),
      },
    });

    // --- Services: stable and canary (their selectors get the pod-template hash from the Rollout
    // controller) and a headless one over every pod for the ServiceMonitor.
    const servicePort = { name: names.port, port: decl.port, targetPort: k8s.IntOrString.fromString(names.port), protocol: 'TCP', appProtocol: 'http' };
    for (const [cid, name, role] of [
      ['StableService', names.stableService, 'stable'],
      ['CanaryService', names.canaryService, 'canary'],
    ] as const) {
      new k8s.KubeService(this, cid, {
        metadata: { name, namespace, labels: { ...labels, 'courseops.dev/rollout-role': role } },
        spec: { type: 'ClusterIP', selector, ports: [servicePort] },
      });
    }
    new k8s.KubeService(this, 'MetricsService', {
      metadata: { name: names.metricsService, namespace, labels: { ...labels, 'courseops.dev/scrape': 'true' } },
      spec: { clusterIp: 'None', selector, ports: [servicePort] },
    });

    // --- HTTPRoute: one rule to the stable and the canary Service, with no weights. Argo Rollouts' Gateway
    // API plugin sets the weights during a canary; a re-apply of this manifest must not reset them.
    if (decl.ingress) {
      new HostRoute(this, 'HttpRoute', {
        name: names.httpRoute,
        namespace,
        labels,
        hostKey: decl.ingress.host,
        host: props.hosts[decl.ingress.host],
        rules: [
          {
            path: decl.ingress.path,
            backends: [
              { name: names.stableService, port: decl.port },
              { name: names.canaryService, port: decl.port },
            ],
          },
        ],
      });
    }

    // --- availability and scaling
    new k8s.KubePodDisruptionBudget(this, 'Pdb', {
      metadata: { name: names.workload, namespace, labels },
      // One pod at a time, however far the HPA has scaled (a fixed minAvailable would let all but one go at once).
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
    new k8s.KubeHorizontalPodAutoscalerV2(this, 'Hpa', {
      metadata: { name: names.workload, namespace, labels },
      spec: {
        scaleTargetRef: { apiVersion: Rollout.GVK.apiVersion, kind: Rollout.GVK.kind, name: names.workload },
        minReplicas: replicas.min,
        maxReplicas: replicas.max,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    });

    // --- NetworkPolicies: who may reach the pods, and whom the pods may reach
    const ingressRules: PolicyRule[] = [
      { peers: [peers.prometheus], ports: [decl.port], why: 'Prometheus scrapes /metrics' },
      ...(decl.ingress ? [{ peers: [peers.gateway], ports: [decl.port], why: `public route ${decl.ingress.path} through the Gateway` }] : []),
      ...callers.map((c) => ({
        peers: [{ namespace, podLabels: selectorLabels({ name: c.name, instance: c.name }) }],
        ports: [decl.port],
        why: c.probes?.includes(decl.name) ? `${c.name} probes /readyz` : `${c.name} calls ${decl.name}`,
      })),
      ...(decl.allowFrom ?? []).map((a) => ({ peers: [{ namespace: a.namespace, podLabels: a.podLabels }], ports: [decl.port], why: a.why })),
    ];
    const egressRules: PolicyRule[] = [
      ...[...(decl.calls ?? []).map((c) => c.service), ...(decl.probes ?? [])].map((target) => {
        const t = findService(target);
        return {
          peers: [{ namespace, podLabels: selectorLabels({ name: t.name, instance: t.name }) }],
          ports: [t.port],
          why: decl.probes?.includes(target) ? `probes ${target} /readyz` : `calls ${target}`,
        };
      }),
      ...contributions.flatMap((c) => c.egress ?? []),
    ];
    new AllowPolicy(this, 'IngressPolicy', { namespace, name: `${decl.name}-ingress`, podLabels: selector, labels, ingress: ingressRules });
    if (egressRules.length > 0) {
      new AllowPolicy(this, 'EgressPolicy', { namespace, name: `${decl.name}-egress`, podLabels: selector, labels, egress: egressRules });
    }

    for (const mixin of props.mixins) mixin.apply?.(ctx);
  }
}


