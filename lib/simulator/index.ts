// A stand-in for https://qyapi.weixin.qq.com: the group-robot API and the self-built-app API,
// answering as WeCom does.
export { startSimulator } from './server.js';
export type { AdminCall, AppConfig, AppMessage, ReceivedMessage, Simulator, SimulatorOptions, TransportFault } from './types.js';
