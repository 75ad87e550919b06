import type { PlatformConfig } from '../config.js';
import type { Hosts } from '../hosts.js';
import type { SecretSpec } from '../secrets.js';
import type { Footprint } from './types.js';

/** What a release module may read to make its values: the platform's settings, never another part's objects. */
export interface ReleaseContext {
  readonly config: PlatformConfig;
  readonly hosts: Hosts;
  /** The status service's webhook URL for Alertmanager (from the service declaration). */
  readonly statusWebhookUrl: string;
}

/**
 * One Helm release, whole, in its own module (src/helm/releases/<chart>.ts): the names it owns (exported
 * beside it for the parts that talk to it), its typed values, the pods it runs, the Secrets it reads and how
 * long the bring-up waits for it. The platform's release list (platform-releases.ts) is an ordered array of these.
 */
export interface ReleaseModule {
  /** `helm upgrade --install <name>`; the chart's fullname, and so its Service names, follow from it. */
  readonly name: string;
  /** The chart, pinned in charts/Chart.yaml. */
  readonly chart: string;
  readonly namespace: string;
  /** Values-key lists (charts/values-keys/<file>.json) of its subcharts, by their top-level values key. */
  readonly subcharts?: Readonly<Record<string, string>>;
  /** `helm --wait --timeout`: 10m unless the release says otherwise. */
  readonly timeout?: string;
  /** Secrets its values reference by name, created by the bring-up before the first release (dist/secrets.json). */
  readonly secrets?: () => readonly SecretSpec[];
  readonly values: (ctx: ReleaseContext) => object;
  /** Its steady-state pods, with the requests its values set (the platform's resource budget). */
  readonly footprint: (ctx: ReleaseContext) => readonly Footprint[];
}

/** A release as the bring-up runs it: `helm upgrade --install --wait`, chart version resolved, values final. */
export interface HelmRelease {
  readonly order: number;
  readonly name: string;
  readonly namespace: string;
  readonly chart: string;
  readonly repo: string;
  readonly version: string;
  /** Which values-key list (charts/values-keys/<file>.json) checks the values; subcharts by top-level key. */
  readonly keys: { readonly chart: string; readonly subcharts?: Readonly<Record<string, string>> };
  /**
   * The typed values of the release module, with null for each chart default resource key we did
   * not choose (chart-defaults.ts: Helm would merge it into ours).
   */
  readonly values: object;
  readonly footprint: readonly Footprint[];
  readonly waitFor: { readonly timeout: string };
}
