// The public names of wecom-firewall.
export { createFirewall, type Firewall, type FirewallOptions } from './firewall.js';
export { serve, type RunningServer } from './http/server.js';
export { signApproverToken } from './http/auth.js';
export { loadConfigFile, resolveConfig, ConfigError, type FirewallConfigInput } from './config/load.js';
export { PolicySet, PolicyError } from './policy/compile.js';
export type { Decision, PolicyRequest, Route, Action } from './policy/types.js';
export { ERRORS, FirewallError, type ErrorCode } from './errors.js';
export { startSimulator, type Simulator, type SimulatorOptions } from './simulator/index.js';
