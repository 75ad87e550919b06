/**
 * `npm run synth`: builds the platform and writes dist/ (manifests, Helm values and release list,
 * secrets to generate, hosts), then prints the resource requests per namespace against the 8 GiB budget.
 * Environment: COURSEOPS_IMAGE_TAG, COURSEOPS_IMAGE_PREFIX, COURSEOPS_DOMAIN (see config.ts),
 * COURSEOPS_DIST (output folder, default <repo>/dist), COURSEOPS_KIND_NODES (default 1).
 */
import { fileURLToPath } from 'node:url';
import { buildPlatform } from './app.js';
import { configFromEnv } from './config.js';
import { formatSummary, platformRequests } from './summary.js';
import { render, writeDist } from './synth.js';

const started = performance.now();
const outDir = process.env.COURSEOPS_DIST ?? fileURLToPath(new URL('../../dist', import.meta.url));
const nodes = Number(process.env.COURSEOPS_KIND_NODES ?? '1');
const platform = buildPlatform({ config: configFromEnv(), nodes });
const out = render(platform);
writeDist(out, outDir);

const manifests = [...out.files.keys()].filter((f) => f.startsWith('manifests/')).length;
console.log(
  `synth: ${out.objects.length} objects in ${manifests} manifest files, ${platform.releases.length} Helm releases, ` +
    `${platform.secrets.length} secrets to generate -> ${outDir} (${Math.round(performance.now() - started)} ms)`,
);
console.log('requests per namespace (manifests + Helm releases, steady state):');
console.log(formatSummary(platformRequests(out.objects as never, platform.releases, nodes)));
