import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import * as k8s from '../k8s.js';
import { MANAGED_BY, PART_OF } from '../labels.js';
import { allNamespaces, ns, type NamespaceKey } from '../namespaces.js';
import { peers } from '../networking/peers.js';
import { AllowPolicy, DNS_RULE, DefaultDeny } from '../networking/policies.js';
import { profilesFor } from '../networking/profiles.js';
import type { PlatformConfig } from '../config.js';

/** Pod Security Admission labels: enforce the declared level, warn and audit at restricted. */
export function psaLabels(level: string): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/warn-version': 'latest',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/audit-version': 'latest',
  };
}

/**
 * Every namespace of the platform, first in the apply order (Pod Security labels must be in place
 * before any pod is created, so the bring-up applies this file before the Helm releases), with its
 * default deny, DNS, and the namespace-wide allows of its network profile.
 */
export interface NamespacesChartProps extends ChartProps {
  readonly config: Pick<PlatformConfig, 'tls'>;
}

export class NamespacesChart extends Chart {
  constructor(scope: Construct, id: string, props: NamespacesChartProps) {
    super(scope, id, props);
    const profiles = profilesFor(props.config);
    for (const decl of allNamespaces) {
      if (decl.psa !== 'restricted' && !decl.psaReason) throw new Error(`namespace ${decl.name}: not restricted without a reason`);
      new k8s.KubeNamespace(this, decl.name, {
        metadata: {
          name: decl.name,
          labels: { ...psaLabels(decl.psa), 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': MANAGED_BY },
          annotations: {
            'courseops.dev/purpose': decl.purpose,
            ...(decl.psaReason ? { 'courseops.dev/pod-security-exception': decl.psaReason } : {}),
          },
        },
      });
    }
    for (const [key, decl] of Object.entries(ns) as [NamespaceKey, (typeof ns)[NamespaceKey]][]) {
      const profile = profiles[key];
      const namespace = decl.name;
      new DefaultDeny(this, `${namespace}-default-deny`, { namespace });
      new AllowPolicy(this, `${namespace}-dns`, { namespace, name: 'allow-dns', egress: [DNS_RULE] });
      if (profile.sameNamespace) {
        new AllowPolicy(this, `${namespace}-same-namespace`, {
          namespace,
          name: 'allow-same-namespace',
          ingress: [{ peers: [{ namespace }], why: 'components of the same chart talk to each other' }],
          egress: [{ peers: [{ namespace }], why: 'components of the same chart talk to each other' }],
        });
      }
      if (profile.prometheusScrape) {
        new AllowPolicy(this, `${namespace}-prometheus`, {
          namespace,
          name: 'allow-prometheus-scrape',
          ingress: [{ peers: [peers.prometheus], why: 'Prometheus scrapes metrics endpoints' }],
        });
      }
      if (profile.ingress.length > 0) {
        new AllowPolicy(this, `${namespace}-ingress`, { namespace, name: 'allow-ingress', ingress: profile.ingress });
      }
      if (profile.egress.length > 0) {
        new AllowPolicy(this, `${namespace}-egress`, { namespace, name: 'allow-egress', egress: profile.egress });
      }
    }
  }
}
