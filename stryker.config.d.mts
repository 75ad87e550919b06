// Types of stryker.config.mjs for scripts/mutation/run.ts (Stryker reads the .mjs itself).
import type { PartialStrykerOptions } from '@stryker-mutator/api/core';
import type { BelowThreshold, EquivalentMutant } from './scripts/mutation/score.ts';

export declare const THRESHOLD: number;
export declare const areas: { name: string; mutate: string[]; testFiles: string[] }[];
export declare const equivalentMutants: EquivalentMutant[];
export declare const belowThreshold: BelowThreshold[];
declare const config: PartialStrykerOptions;
export default config;
