export * from './http.js';
export * from './postgres.js';
export * from './tcpProxy.js';
export * from './fuzz.js';
export * from './service.js';
export * from './rawHttp.js';
export * from './openapi.js';
