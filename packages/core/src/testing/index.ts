export { createTestEnvironment, deleteKeys, type TestEnvironment, type TestEnvironmentOptions } from './test-environment.js';
export { TestPki, type IssueOptions, type TestCertificate } from './test-pki.js';
export { freePort, ServerUnavailableError, startTlsMariadb, startTlsRedis, type TlsMariadb, type TlsServer } from './tls-servers.js';
export { TcpProxy } from './tcp-proxy.js';
export { parseExposition } from './exposition.js';
export { waitFor } from './wait-for.js';
export { frontLogin, frontLoginWithPhp, type FrontLoginOutcome } from './front-login.js';
export { GaleraCluster, GaleraNode, GALERA_USER } from './galera-cluster.js';
export { GaleraHaproxy } from './haproxy.js';
