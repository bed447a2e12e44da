//go:build !dev

package main

// devBuild is true in `-tags dev` builds (the browser-reachable dev server
// used by the end-to-end test): they log to the console too.
const devBuild = false
