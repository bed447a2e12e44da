//go:build !dev

package main

// devStartup wires test-only hooks in dev builds; production has none.
func devStartup(*App) {}
