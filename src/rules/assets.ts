// Data files shipped with the package under src/rules/ (built-in rule files, the ATT&CK technique
// list). Both src/rules/*.ts (tests) and dist/rules/*.js (the build) sit two levels below the
// package root, so one relative URL finds them from either.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file or folder under src/rules/ in this package. */
export function rulesAsset(rel: string): string {
  return fileURLToPath(new URL(`../../src/rules/${rel}`, import.meta.url));
}

interface AttackData {
  version: string;
  source: string;
  techniques: Record<string, string>;
}

let attack: AttackData | null = null;

/**
 * MITRE ATT&CK Enterprise technique ids and names (src/rules/data/attack-techniques.json: version,
 * source and terms of use are in the file). The Containers matrix is a subset of Enterprise.
 */
export function attackTechniques(): AttackData {
  attack ??= JSON.parse(readFileSync(rulesAsset('data/attack-techniques.json'), 'utf8')) as AttackData;
  return attack;
}

/** Whether `id` (T1234 or T1234.001) is a technique of the shipped ATT&CK version. */
export function isAttackTechnique(id: string): boolean {
  return Object.hasOwn(attackTechniques().techniques, id);
}
