/**
 * `npm run synth`: builds the platform and writes dist/ (manifests, Helm values and release list,
 * secrets to generate, hosts), then prints the resource requests per namespace against the 8 GiB budget.
 * Settings: the profile and config file (config-file.ts: courseops.config.yaml or COURSEOPS_CONFIG, and the
 * COURSEOPS_PROFILE / _IMAGE_PREFIX / _IMAGE_TAG / _DOMAIN overrides); COURSEOPS_DIST (output folder, default <repo>/dist).
 */
import { fileURLToPath } from 'node:url';
import { buildPlatform } from './app.js';
import { ConfigError, loadConfig } from './config-file.js';
import { BUDGET_MEMORY, formatSummary, platformRequests } from './summary.js';
import { render, writeDist } from './synth.js';

const started = performance.now();
const outDir = process.env.COURSEOPS_DIST ?? fileURLToPath(new URL('../../dist', import.meta.url));
const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`synth: ${err.message}`);
    process.exit(2);
  }
})();
const platform = buildPlatform({ config });
const out = render(platform);
writeDist(out, outDir);

const manifests = [...out.files.keys()].filter((f) => f.startsWith('manifests/')).length;
console.log(
  `synth: ${out.objects.length} objects in ${manifests} manifest files, ${platform.releases.length} Helm releases, ` +
    `${platform.secrets.length} secrets to generate -> ${outDir} (${Math.round(performance.now() - started)} ms)`,
);
console.log(`requests per namespace (manifests + Helm releases, steady state; profile ${config.profile}, ${config.nodes} node${config.nodes === 1 ? '' : 's'}):`);
// The 8 GiB budget is the kind profile's laptop; a real cluster's capacity is the user's to size.
console.log(formatSummary(platformRequests(out.objects as never, platform.releases, config.nodes), config.profile === 'kind' ? BUDGET_MEMORY : undefined));
