// Operator HTTP surface: Prometheus metrics and liveness/readiness probes.
export { createMetrics, type Metrics } from './metrics.ts';
export { startHttpEndpoints, listen, parseAddr, type HttpEndpoints } from './http.ts';
