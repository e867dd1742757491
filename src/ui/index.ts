// The status page (`--ui-addr`): a read-only, server-rendered view of the controller's GitSource
// cache with live row updates over server-sent events.
export { startStatusPage, type StatusPage, type StatusPageOptions, type StatusPageSource } from './server.ts';
export { RecentEvents } from './recent-events.ts';
