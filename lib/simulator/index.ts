// A stand-in for https://qyapi.weixin.qq.com (the group-robot API and the self-built-app API) and
// wss://openws.work.weixin.qq.com (the intelligent robot's long connection), answering as WeCom does.
export { startSimulator } from './server.js';
export type {
  AdminCall,
  AppConfig,
  AppMessage,
  BotCallbackCmd,
  BotConfig,
  BotFrame,
  BotStream,
  BotSubscribe,
  ReceivedMessage,
  Simulator,
  SimulatorOptions,
  TransportFault,
} from './types.js';
