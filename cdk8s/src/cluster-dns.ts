/**
 * How a pod names a Service: `<name>.<namespace>.svc.cluster.local` (the cluster's default domain). One
 * home for the in-cluster addresses of the services, databases, Prometheus, the Pushgateway, Dex and
 * oauth2-proxy, and for the bring-up's CoreDNS rewrite target.
 */
export const serviceHost = (name: string, namespace: string): string => `${name}.${namespace}.svc.cluster.local`;

/** `http://<service host>:<port>`: what a pod calls another Service at. */
export const serviceUrl = (name: string, namespace: string, port: number): string => `http://${serviceHost(name, namespace)}:${port}`;
