// Detections as data: the library entry point of kaudit's rule engine. Rules are YAML files (the
// built-in ones in src/rules/builtin/, one per family; users add theirs with --rules and Sigma rules
// with --sigma), validated by src/rules/lang/schema.ts and compiled by src/rules/lang/compile.ts.
//
//   const set = await loadRuleSet({ rules: ['my-rules/'], sigma: ['sigma/'] });
//   const engine = new DetectionEngine(set);
//   for (const record of records) engine.evaluate(record, (hit) => report(hit));
//   engine.stats();   // per rule: matched, not evaluated (body not logged…), evicted state keys
//
// `audit anomalies` aggregates hits into findings; a live stream (`audit follow --findings`) can
// consume them one by one. The engine keeps bounded state and no clock.
export { loadRuleSet, builtinRuleFiles, type LoadOptions } from './lang/load.js';
export { DetectionEngine, evaluateRule, DEFAULT_LIMITS, formatMs, type EngineLimits, type RuleSet } from './lang/engine.js';
export type { CompiledRule, Hit, HitEvent, RuleDoc, RuleStats, SigmaMeta } from './lang/types.js';
import type { RuleDoc } from './lang/types.js';

/** The metadata of a rule that findings and reports carry (everything but its conditions). */
export interface RuleInfo {
  id: string;
  title: string;
  description: string;
  severity: RuleDoc['severity'];
  technique: string[];
  tags: string[];
  references: string[];
  falsePositives: string[];
  remediation: string;
  /** builtin, file or sigma, and the file it came from. */
  source: { kind: RuleDoc['source']['kind']; file: string; family: string };
  /** Kind of rule: per request, or stateful (threshold, firstSeen, sequence). */
  type: 'request' | 'threshold' | 'firstSeen' | 'sequence';
  /** False for off-by-default rules (run with --enable-rule). */
  enabled: boolean;
  sigma?: RuleDoc['sigma'];
}

export function ruleInfo(d: RuleDoc): RuleInfo {
  return {
    id: d.id,
    title: d.title,
    description: d.description,
    severity: d.severity,
    technique: d.technique,
    tags: d.tags,
    references: d.references,
    falsePositives: d.falsePositives,
    remediation: d.remediation,
    source: { ...d.source },
    type: d.threshold ? 'threshold' : d.firstSeen ? 'firstSeen' : d.sequence ? 'sequence' : 'request',
    enabled: d.enabled,
    ...(d.sigma ? { sigma: d.sigma } : {}),
  };
}
