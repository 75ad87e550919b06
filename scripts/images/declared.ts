/**
 * The images `npm run test:images` builds and runs, as the manifests name them (COURSEOPS_IMAGE_PREFIX/TAG):
 *   service <name> <port> <image>                       one line per declared service (cdk8s/src/services.ts)
 *   backup <image> <postgres image> <a backed-up service>   when a service has a database
 */
import { imageOf } from '../../cdk8s/src/config.js';
import { loadConfig } from '../../cdk8s/src/config-file.js';
import { POSTGRES_IMAGE } from '../../cdk8s/src/data/postgresql.js';
import { services } from '../../cdk8s/src/services.js';

const config = loadConfig();
const lines = services.map((s) => `service ${s.name} ${s.port} ${imageOf(config, s.name)}`);
const backedUp = services.find((s) => s.database);
if (backedUp) lines.push(`backup ${imageOf(config, 'backup')} ${POSTGRES_IMAGE} ${backedUp.name}`);
process.stdout.write(lines.map((l) => `${l}\n`).join(''));
