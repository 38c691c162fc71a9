// Test-only fault injection: KAUDIT_TEST_FAULT=COMPONENT:N makes one part of kaudit throw, so that
// tests can check that a failure of kaudit itself is reported as an internal error (never as the
// end of the input). COMPONENT is one of FAULT_COMPONENTS; N counts from 1:
//   reducer   the Nth record given to the command's analysis (main thread)
//   worker    the Nth record given to the analysis in a worker thread (--jobs)
//   rule      the Nth record a detection rule is evaluated against (anomalies)
//   renderer  the Nth report rendered, or the Nth record written by a record writer (export, investigate)
// When the variable is unset nothing is installed: the hot paths run exactly as without it.
import { UsageError } from './errors.js';

export const FAULT_COMPONENTS = ['reducer', 'worker', 'rule', 'renderer'] as const;
export type FaultComponent = (typeof FAULT_COMPONENTS)[number];

type Env = Readonly<Record<string, string | undefined>>;

/** The process environment; empty where there is no process (the audit view page bundles the record writers, which read this). */
function processEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}

/** The parsed KAUDIT_TEST_FAULT, or null when unset. */
export function testFault(env: Env = processEnv()): { component: FaultComponent; n: number } | null {
  const v = env.KAUDIT_TEST_FAULT;
  if (v === undefined || v === '') return null;
  const m = /^([a-z]+):(\d+)$/.exec(v);
  if (!m || !(FAULT_COMPONENTS as readonly string[]).includes(m[1]!) || Number(m[2]) < 1) {
    throw new UsageError(`KAUDIT_TEST_FAULT: ${JSON.stringify(v)} is not COMPONENT:N`, `use one of ${FAULT_COMPONENTS.join(', ')} and a count from 1, e.g. reducer:3, or unset it`);
  }
  return { component: m[1] as FaultComponent, n: Number(m[2]) };
}

/**
 * A counter that throws at its Nth call when KAUDIT_TEST_FAULT names `component`; null otherwise
 * (callers install nothing then).
 */
export function faultCounter(component: FaultComponent, env: Env = processEnv()): (() => void) | null {
  const f = testFault(env);
  if (!f || f.component !== component) return null;
  let i = 0;
  return () => {
    if (++i === f.n) throw new Error(`injected fault (KAUDIT_TEST_FAULT=${component}:${f.n})`);
  };
}
