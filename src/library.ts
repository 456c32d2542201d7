// What podnet exports everywhere it runs (Node and browsers): hosts, the
// engine, networks, the builders, scenarios as data, packets, traces.
export { Host } from './host.js';
export type {
  HostOptions, HostStats, LinkSpec, LinkChange, LinkInfo, LinkType, RouteSpec, RouteInfo, NeighInfo, FdbInfo, Output,
} from './host.js';
export { Engine, defaultEngine, useModule } from './engine/engine.js';
export type { EngineOptions } from './engine/engine.js';
export { Context } from './engine/context.js';
export type { ContextOptions, RawOutput } from './engine/context.js';
export { descriptor } from './embedding.js';
export * as packet from './packet/index.js';
export { Network, Capture } from './network.js';
export type {
  NetworkOptions, WireOptions, SegmentOptions, RunOptions, RunSummary, Delivery, DropRecord, CapturedFrame, StagedTraffic,
} from './network.js';
export { buildCalico, calicoNetwork, natOutgoingRules, CALI_MAC } from './scenarios/calico.js';
export type { CalicoOptions, CalicoCluster, CalicoNode, CalicoPod, IpipMode, CalicoNetworkOptions } from './scenarios/calico.js';
export { buildDocker, dockerRules, HOST_IP, SERVER_IP } from './scenarios/docker.js';
export type { DockerOptions, DockerSetup, DockerContainer, ContainerSpec, Publish } from './scenarios/docker.js';
export { readScenario, ScenarioError } from './scenarios/spec.js';
export type { Scenario, ScenarioHost, DockerShorthand, CalicoShorthand } from './scenarios/spec.js';
export { buildScenario } from './scenarios/build.js';
export type { BuiltScenario, BuildOptions } from './scenarios/build.js';
export { runScenario, describeFate } from './scenarios/check.js';
export type { ScenarioReport, ProbeReport, PropertyReport, LinkCounters, RunResult } from './scenarios/check.js';
export type { Probe, Property, Outcome } from './scenarios/grammar.js';
export type { PacketFate, Tuple } from './scenarios/probe.js';
export { builtinScenario } from './scenarios/builtin.js';
export { replay } from './scenarios/replay.js';
export type { ReplayFate, ReplayResult } from './scenarios/replay.js';
export { tracePacket, traceScenario, traceSteps, formatTrace } from './trace/trace.js';
export type { TraceOptions, TraceStep, PacketTrace } from './trace/trace.js';
