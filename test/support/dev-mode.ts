/** Jest setup: the tests run the platform in local development mode (dev-only secrets, the simulated
 * gateway), as `npm test` does (scripts/test-env.sh); tests of the production guard pass their own env. */
process.env.SHOPFLOW_DEV_MODE ??= '1';
