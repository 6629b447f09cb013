/**
 * What every `airlock doctor` run shares (the agent's `diagnoseTenant`, the connector's
 * `diagnoseConnector`): steps recorded in order and reported live, and the network chain to a TLS
 * endpoint (resolve, connect, TLS, clock).
 *
 * @example
 * const run = stepRecorder(opts.onStep);
 * for (const step of networkSteps(target, 5_000)) run.add(await step());
 * return run.steps;
 */
import { clockStep, type DoctorStep, resolveStep, type TlsTarget, tcpStep, tlsStep } from './doctor-steps.js';

export interface StepRecorder {
  /** The steps so far, in order. */
  readonly steps: DoctorStep[];
  /** Records a step, tells `onStep`, and returns it. */
  add(step: DoctorStep): DoctorStep;
}

/** Collects steps and calls `onStep` as each one lands (for live output). */
export function stepRecorder(onStep?: (step: DoctorStep) => void): StepRecorder {
  const steps: DoctorStep[] = [];
  return {
    steps,
    add(step) {
      steps.push(step);
      onStep?.(step);
      return step;
    },
  };
}

/** The names of {@link networkSteps}, in order. */
export const NETWORK_STEP_NAMES = ['resolve', 'connect', 'tls', 'clock'] as const;

/** resolve → connect → TLS → clock towards `t`, each a thunk run in order by the caller. */
export function networkSteps(t: TlsTarget, timeoutMs: number): Array<() => Promise<DoctorStep>> {
  return [
    () => resolveStep(t.host, timeoutMs),
    () => tcpStep(t.host, t.port, timeoutMs),
    async () => (await tlsStep(t, timeoutMs)).step,
    () => clockStep(t, timeoutMs),
  ];
}
