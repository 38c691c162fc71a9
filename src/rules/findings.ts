// Finding kinds that are not sensitive permissions, as data (ids for SARIF and JUnit).
import type { Severity } from './sensitive.js';

export interface FindingKind {
  id: string;
  severity: Severity;
  description: string;
}

export const DRIFT_FINDINGS: Record<'unused' | 'dormant' | 'uncovered', FindingKind> = {
  unused: { id: 'KAUDIT-D001', severity: 'low', description: 'a granted rule was never used in the observation window' },
  dormant: { id: 'KAUDIT-D002', severity: 'medium', description: 'a subject holds grants but made no request in the observation window' },
  uncovered: { id: 'KAUDIT-D003', severity: 'low', description: 'an observed request is not allowed by any grant in the export (denied, or granted outside it)' },
};
