/** The cuttable TCP proxy lives in core's testing helpers (core's own tests use it too). */
export { TcpProxy } from '@watched/core/testing';
