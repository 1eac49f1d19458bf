/**
 * Authentication, authorization and TLS, shared by every server and client: the credentials
 * file (Mesos' shape, hashed secrets, bearer tokens), ACLs (Mesos' shape), the hono middleware
 * that answers 401/429 and the 403s, the client side that carries credentials and trusts a CA,
 * and the flags that build them.
 *
 * @module
 */
export * from "./password_hash.ts";
export * from "./credentials.ts";
export * from "./acls.ts";
export * from "./failure_throttle.ts";
export * from "./security_metrics.ts";
export * from "./server_security.ts";
export * from "./client_security.ts";
export * from "./tls.ts";
export * from "./flags.ts";
export * from "./dev_certs.ts";
export * from "./dev_credentials.ts";
export * from "./serve.ts";
export * from "./waiting_connections.ts";
