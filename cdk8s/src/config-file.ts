/**
 * The config file (courseops.config.yaml, or the file COURSEOPS_CONFIG names): a profile by name and any
 * setting over it. Every key is optional; an unknown key, a wrong type or a `cluster` profile without its
 * domain or certificate issuer is refused with the key named. README "Configuration" documents it.
 *
 *   profile: cluster                      # kind (default) | cluster
 *   domain: courseops.example.com
 *   images: { prefix: registry.example.com/courseops, tag: v1.4.0 }
 *   tls: { acme: { server: production, email: ops@example.com } }   # or { clusterIssuer: my-issuer }
 *   storageClass: managed-csi
 *   nodes: 3
 *   minReplicas: 2
 *   podCidr: 10.244.0.0/16
 *   elasticsearch: { cpu: "1", memory: 4Gi, storage: 50Gi }
 *   prometheus: { cpu: 500m, memory: 4Gi, storage: 50Gi, retention: 30d }
 *   databases: { external: [course] }     # these read DATABASE_URL from a Secret you create
 *
 * The environment overrides the file for what a build pipeline sets per run: COURSEOPS_PROFILE,
 * COURSEOPS_IMAGE_PREFIX, COURSEOPS_IMAGE_TAG, COURSEOPS_DOMAIN.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { DNS_NAME_PATTERN, IMAGE_TAG_PATTERN, profiles, type PlatformConfig, type ProfileName, type TlsIssuer } from './config.js';
import { parseCpu, parseMemory } from './resources.js';

const quantity = (parse: (q: string) => number, what: string) =>
  z.string().refine((q) => {
    try {
      return parse(q) > 0;
    } catch {
      return false;
    }
  }, `must be a ${what} quantity such as ${what === 'CPU' ? '500m or "1"' : '4Gi'}`);
const cpu = quantity(parseCpu, 'CPU');
const memory = quantity(parseMemory, 'memory');
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label');
const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be an IPv4 CIDR such as 10.244.0.0/16');

export const configFileSchema = z.strictObject({
  profile: z.enum(['kind', 'cluster']).optional(),
  domain: z.string().regex(DNS_NAME_PATTERN, 'must be a DNS name such as courseops.example.com').optional(),
  images: z.strictObject({ prefix: z.string().regex(/^[a-z0-9][a-z0-9._/:-]*[a-z0-9]$/, 'must be a registry path such as registry.example.com/courseops').optional(), tag: z.string().regex(IMAGE_TAG_PATTERN, 'must be an image tag').optional() }).optional(),
  tls: z
    .union([
      z.strictObject({ acme: z.strictObject({ server: z.enum(['staging', 'production']), email: z.email('must be an e-mail address (Let\'s Encrypt writes to it about expiring certificates)') }) }),
      z.strictObject({ clusterIssuer: dnsLabel }),
      z.strictObject({ selfSigned: z.literal(true) }),
    ], { error: 'must be { acme: { server, email } }, { clusterIssuer: NAME } or { selfSigned: true }' })
    .optional(),
  storageClass: dnsLabel.optional(),
  nodes: z.int().min(1).max(1000).optional(),
  minReplicas: z.int().min(1).max(20).optional(),
  podCidr: cidr.optional(),
  elasticsearch: z.strictObject({ cpu: cpu.optional(), memory: memory.optional(), storage: memory.optional() }).optional(),
  prometheus: z
    .strictObject({ cpu: cpu.optional(), memory: memory.optional(), storage: memory.optional(), retention: z.string().regex(/^\d+[hdwy]$/, 'must be a duration such as 30d').optional() })
    .optional(),
  databases: z.strictObject({ external: z.array(dnsLabel).optional() }).optional(),
});
export type ConfigFile = z.infer<typeof configFileSchema>;

export class ConfigError extends Error {}

const tlsOf = (tls: NonNullable<ConfigFile['tls']>): TlsIssuer =>
  'acme' in tls ? { kind: 'acme', ...tls.acme } : 'clusterIssuer' in tls ? { kind: 'cluster-issuer', name: tls.clusterIssuer } : { kind: 'self-signed' };

/**
 * The settings of a profile with the file and the environment over them. `file` is the parsed YAML (undefined
 * without a file), `source` names it in errors. (That databases.external names declared services with a
 * database is checked where the declarations are: buildPlatform.)
 */
export function resolveConfig(options: { file?: unknown; source?: string; env?: NodeJS.ProcessEnv }): PlatformConfig {
  const { env = {} } = options;
  const source = options.source ?? 'config file';
  const parsed = configFileSchema.safeParse(options.file ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.') || '(the file)';
    const unknown = issue.code === 'unrecognized_keys' ? `: unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : ` ${issue.message}`;
    throw new ConfigError(`${source}: ${key}${unknown}`);
  }
  const file = parsed.data;
  const envValue = (name: string) => env[name]?.trim() || undefined;

  const profileName = (envValue('COURSEOPS_PROFILE') ?? file.profile ?? 'kind') as ProfileName;
  if (!(profileName in profiles)) throw new ConfigError(`COURSEOPS_PROFILE "${profileName}" is not a profile (kind, cluster)`);
  const profile = profiles[profileName];
  const domain = envValue('COURSEOPS_DOMAIN') ?? file.domain ?? ('domain' in profile ? profile.domain : undefined);
  if (!domain) throw new ConfigError(`${source}: the cluster profile needs domain: the DNS name its hosts live under (api.<domain>, grafana.<domain>, ...)`);
  if (!DNS_NAME_PATTERN.test(domain)) throw new ConfigError(`COURSEOPS_DOMAIN "${domain}" is not a DNS name`);
  const tls = file.tls ? tlsOf(file.tls) : 'tls' in profile ? profile.tls : undefined;
  if (!tls) {
    throw new ConfigError(`${source}: the cluster profile needs tls: { acme: { server: staging|production, email } } or { clusterIssuer: NAME } (a self-signed CA is for kind)`);
  }
  const imageTag = envValue('COURSEOPS_IMAGE_TAG') ?? file.images?.tag ?? profile.imageTag;
  if (!IMAGE_TAG_PATTERN.test(imageTag)) throw new ConfigError(`COURSEOPS_IMAGE_TAG "${imageTag}" is not a valid image tag`);

  return {
    ...profile,
    domain,
    tls,
    imagePrefix: envValue('COURSEOPS_IMAGE_PREFIX') ?? file.images?.prefix ?? profile.imagePrefix,
    imageTag,
    nodes: file.nodes ?? profile.nodes,
    minReplicas: file.minReplicas ?? profile.minReplicas,
    podCidr: file.podCidr ?? profile.podCidr,
    ...(file.storageClass ? { storageClass: file.storageClass } : {}),
    elasticsearch: { ...profile.elasticsearch, ...file.elasticsearch },
    prometheus: { ...profile.prometheus, ...file.prometheus },
    externalDatabases: file.databases?.external ?? profile.externalDatabases,
  };
}

/** Where the config file is: COURSEOPS_CONFIG, else courseops.config.yaml at the repository root when it exists. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.COURSEOPS_CONFIG?.trim();
  if (named) return path.resolve(named);
  const atRoot = fileURLToPath(new URL('../../courseops.config.yaml', import.meta.url));
  return existsSync(atRoot) ? atRoot : undefined;
}

/** The configuration `npm run synth` (and every script that must agree with it) builds from. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const file = configFilePath(env);
  if (file === undefined) return resolveConfig({ env });
  if (!existsSync(file)) throw new ConfigError(`COURSEOPS_CONFIG names ${file}, which does not exist`);
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not YAML (${(err as Error).message.split('\n')[0]})`);
  }
  return resolveConfig({ file: data ?? {}, source: file, env });
}
