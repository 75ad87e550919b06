import { defaultConfig } from './config.js';

/**
 * Every public host name of the platform, under one domain (`.test` is reserved for testing by RFC 2606,
 * so it never leaks to public DNS). The bring-up writes them to /etc/hosts (dist/hosts.json) and to a
 * CoreDNS rewrite, so pods reach the same names through the Gateway (Traefik's Service).
 */
export const hostPrefixes = {
  /** course (/api/courses) and teacher (/api/teachers), path-routed on one host. */
  api: 'api',
  status: 'status',
  grafana: 'grafana',
  prometheus: 'prometheus',
  alertmanager: 'alertmanager',
  rollouts: 'rollouts',
  kibana: 'kibana',
  dex: 'dex',
} as const;

export type HostKey = keyof typeof hostPrefixes;
export type Hosts = Record<HostKey, string>;

export function hostsFor(domain: string = defaultConfig.domain): Hosts {
  return Object.fromEntries(Object.entries(hostPrefixes).map(([key, prefix]) => [key, `${prefix}.${domain}`])) as Hosts;
}

/** The hosts for the default domain. */
export const hosts: Hosts = hostsFor();

/** The list form (dist/hosts.json), in declaration order. */
export const hostList = (h: Hosts = hosts): string[] => Object.values(h);
