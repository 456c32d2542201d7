// podnet's public API.
export { Host } from './host.js';
export type {
  HostOptions, HostStats, LinkSpec, LinkChange, LinkInfo, LinkType, RouteSpec, RouteInfo, NeighInfo, FdbInfo, Output,
} from './host.js';
export { Engine, defaultEngine } from './engine/engine.js';
export type { EngineOptions } from './engine/engine.js';
export { Context } from './engine/context.js';
export * as packet from './packet/index.js';
export { Network, Capture } from './network.js';
export type { NetworkOptions, WireOptions, SegmentOptions, RunOptions, RunSummary, Delivery, DropRecord, CapturedFrame } from './network.js';
export { buildCalico, calicoNetwork } from './scenarios/calico.js';
export type { CalicoOptions, CalicoCluster, CalicoNode, CalicoPod, IpipMode, CalicoNetworkOptions } from './scenarios/calico.js';
