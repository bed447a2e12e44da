//go:build !linux

package main

// handOff is done by Wails' SingleInstanceLock itself on Windows (a named
// mutex and a window message, before any window opens) and macOS.
func handOff(id string, args []string, dir string) (bool, error) { return false, nil }
