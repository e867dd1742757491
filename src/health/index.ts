// The health stage: kstatus-style rules that say whether an applied object is ready.
export { assessHealth, type HealthResult, type HealthStatus } from './rules.ts';
export * from './wait.ts';
