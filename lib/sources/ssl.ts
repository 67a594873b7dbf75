/**
 * How a DMS endpoint encrypts its connection to the database. Unencrypted connections are not
 * offered: every source endpoint of this library uses SSL/TLS.
 */
export enum SourceSslMode {
  /** Encrypted; the server certificate is not verified. */
  REQUIRE = 'require',
  /** Encrypted; the server certificate must chain to `certificateArn`. */
  VERIFY_CA = 'verify-ca',
  /** Encrypted; the server certificate must chain to `certificateArn` and match the host name. */
  VERIFY_FULL = 'verify-full',
}
