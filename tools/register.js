// Loads TypeScript sources directly (no build step) for the CLI and the tests, with the same
// transpiler Nx uses for the local plugin.
process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || require('path').join(__dirname, '..', 'tsconfig.json');
require('@swc-node/register');
