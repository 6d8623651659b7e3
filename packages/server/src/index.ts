// @tessera/server: the auth server and the `tessera` CLI.
//
// The package is used through its `tessera` bin (src/cli/main.ts). Its public
// programmatic surface (building the app, loading config) is added here as
// those modules land; until then it exports nothing.

export {}
