/**
 * A bench-only declaration of many services, shaped like the real ones (own database and backups, a route
 * on the api host, a call to the previous service), to see how synth time grows with their number.
 */
import { course, services, type ServiceDecl } from '../src/services.js';

/** The real services (the platform needs its status page) plus bench ones up to `count`. */
export function manyServices(count: number): ServiceDecl[] {
  return [...services, ...benchServices(count - services.length)];
}

function benchServices(count: number): ServiceDecl[] {
  return Array.from({ length: count }, (_, i): ServiceDecl => {
    const name = `svc${String(i + 1).padStart(2, '0')}`;
    return {
      ...course,
      name,
      description: `Bench service ${i + 1}`,
      port: 4001 + i,
      ingress: { host: 'api', path: `/api/${name}` },
      ...(i > 0 ? { calls: [{ service: `svc${String(i).padStart(2, '0')}`, soft: true, urlEnv: 'UPSTREAM_URL' }] } : {}),
    };
  });
}
