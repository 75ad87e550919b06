import type { Construct } from 'constructs';
import type { PlatformConfig } from '../config.js';
import type { Hosts } from '../hosts.js';
import type * as k8s from '../k8s.js';
import type { PolicyRule } from '../networking/policies.js';
import type { SecretRegistry } from '../secrets.js';
import type { ServiceDecl } from '../services.js';

/** The names of everything a Microservice creates, derived from its declaration in one place. */
export interface ServiceNames {
  readonly workload: string;
  readonly stableService: string;
  readonly canaryService: string;
  /** Headless Service over all pods (stable and canary) that the ServiceMonitor scrapes. */
  readonly metricsService: string;
  /** The service's HTTPRoute (Gateway API): the Rollout's traffic router sets its backend weights. */
  readonly httpRoute: string;
  readonly serviceAccount: string;
  readonly configMap: string;
  /** The named container/Service port serving the API, probes and /metrics. */
  readonly port: 'http';
}

export function serviceNames(name: string): ServiceNames {
  return {
    workload: name,
    stableService: name,
    canaryService: `${name}-canary`,
    metricsService: `${name}-metrics`,
    httpRoute: name,
    serviceAccount: name,
    configMap: `${name}-config`,
    port: 'http',
  };
}

/** What a mixin sees: the service, where it lives, and the platform-wide registries. */
export interface MixinContext {
  /** The service's cdk8s Chart: objects a mixin adds land in the service's manifest file. */
  readonly scope: Construct;
  readonly decl: ServiceDecl;
  readonly all: readonly ServiceDecl[];
  readonly namespace: string;
  readonly names: ServiceNames;
  /** Labels that select the service's pods (stable and canary). */
  readonly selector: Readonly<Record<string, string>>;
  readonly config: PlatformConfig;
  readonly hosts: Hosts;
  readonly secrets: SecretRegistry;
}

/** What a mixin adds to the service's pods before the workload is built. */
export interface PodContribution {
  /** Env vars, in order (later entries may reference earlier ones with $(NAME)). */
  readonly env?: readonly k8s.EnvVar[];
  /** Extra egress from the service's pods (e.g. to its database). */
  readonly egress?: readonly PolicyRule[];
  /** Pod template annotations (e.g. checksums). */
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

/**
 * A per-service extension: monitoring, database, and later alerts, dashboards, log routing, canary
 * analysis and backups. `contribute` runs before the workload is built; `apply` after, and may add
 * objects to `ctx.scope`.
 */
export interface ServiceMixin {
  readonly name: string;
  contribute?(ctx: MixinContext): PodContribution;
  apply?(ctx: MixinContext): void;
}
