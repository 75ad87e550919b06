/**
 * Settings that vary per bring-up, read once from the environment by main.ts (tests pass their own).
 * Everything else is declared in code.
 */
export interface PlatformConfig {
  /** Image registry/prefix of the service images: `${imagePrefix}/${service}:${imageTag}`. */
  readonly imagePrefix: string;
  /** Tag of the service images (the bring-up builds and `kind load`s them). */
  readonly imageTag: string;
  /** DNS suffix of every public host (resolved through /etc/hosts on the laptop and a CoreDNS rewrite in the cluster). */
  readonly domain: string;
}

export const defaultConfig: PlatformConfig = {
  imagePrefix: 'courseops',
  imageTag: 'dev',
  domain: 'courseops.test',
};

/** The image of a service (or of `backup`): `<prefix>/<name>:<tag>`; the bring-up builds exactly these. */
export const imageOf = (config: PlatformConfig, name: string): string => `${config.imagePrefix}/${name}:${config.imageTag}`;

/** What Docker accepts as an image tag. */
export const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** COURSEOPS_IMAGE_PREFIX, COURSEOPS_IMAGE_TAG, COURSEOPS_DOMAIN override the defaults. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const pick = (name: string, fallback: string) => {
    const value = env[name]?.trim();
    return value ? value : fallback;
  };
  const config: PlatformConfig = {
    imagePrefix: pick('COURSEOPS_IMAGE_PREFIX', defaultConfig.imagePrefix),
    imageTag: pick('COURSEOPS_IMAGE_TAG', defaultConfig.imageTag),
    domain: pick('COURSEOPS_DOMAIN', defaultConfig.domain),
  };
  if (!IMAGE_TAG_PATTERN.test(config.imageTag)) {
    throw new Error(`COURSEOPS_IMAGE_TAG "${config.imageTag}" is not a valid image tag`);
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(config.domain)) {
    throw new Error(`COURSEOPS_DOMAIN "${config.domain}" is not a DNS name`);
  }
  return config;
}

/**
 * The cluster's pod network: kind's default pod subnet (kind-config.yaml leaves `networking.podSubnet`
 * unset; test/trusted-proxies.test.ts holds it to this value, and the box's kwok nodes take their pod
 * ranges from it, scripts/box/control-plane.ts). The one home of this range: whatever must know where
 * pods are (TRUSTED_PROXIES, src/microservice) reads it here.
 */
export const CLUSTER_POD_CIDR = '10.244.0.0/16';
