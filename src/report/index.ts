// The report stage: conditions, status and the Events that transitions deserve.
export * from './conditions.ts';
export * from './events.ts';
export * from './status.ts';
export { EventRecorder, type EventTarget, type RecordedEvent } from './recorder.ts';
export { classifyFailure, type Failure, type Step } from './failure.ts';
