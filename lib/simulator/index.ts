// A stand-in for https://qyapi.weixin.qq.com's group-robot API that answers as WeCom does.
export { startSimulator } from './server.js';
export type { ReceivedMessage, Simulator, SimulatorOptions } from './types.js';
