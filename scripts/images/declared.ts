/**
 * The images `npm run test:images` builds and runs: one line "<name> <port> <image>" per declared service
 * (cdk8s/src/services.ts), the image named as the manifests name it (COURSEOPS_IMAGE_PREFIX/TAG).
 */
import { configFromEnv, imageOf } from '../../cdk8s/src/config.js';
import { services } from '../../cdk8s/src/services.js';

const config = configFromEnv();
process.stdout.write(services.map((s) => `${s.name} ${s.port} ${imageOf(config, s.name)}\n`).join(''));
