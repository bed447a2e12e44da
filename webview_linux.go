//go:build linux && !bindings

package main

/*
#cgo pkg-config: glib-2.0
#include <glib.h>
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
)

// keepWebviewData makes WebKitGTK keep what it stores (HSTS list, local
// storage, media keys, caches) under dir, inside the data folder in use.
// Wails v2 has no option for this on Linux (only Windows has
// WebviewUserDataPath), and WebKit's default context stores into
// g_get_user_data_dir()/<program name> and g_get_user_cache_dir()/<program
// name>: ~/.local/share/inference-runtime, the default data folder, even
// when IR_HOME points elsewhere.
//
// GLib reads XDG_DATA_HOME and XDG_CACHE_HOME on first use and keeps the
// answer for the life of the process, so both are set only while GLib reads
// them and then restored: programs the app starts (xdg-open for links) and
// libraries that read the variables themselves see the user's own folders.
// GTK's list of recently used files follows WebKit into dir, which the app's
// file dialogs do not mind.
func keepWebviewData(dir string) error {
	want := map[string]string{
		"XDG_DATA_HOME":  filepath.Join(dir, "data"),
		"XDG_CACHE_HOME": filepath.Join(dir, "cache"),
	}
	for name, value := range want {
		old, had := os.LookupEnv(name)
		if err := os.Setenv(name, value); err != nil {
			return err
		}
		defer func() {
			if had {
				os.Setenv(name, old)
			} else {
				os.Unsetenv(name)
			}
		}()
	}
	data, cache := glibUserDirs()
	if data != want["XDG_DATA_HOME"] || cache != want["XDG_CACHE_HOME"] {
		return fmt.Errorf("GLib already settled on %s and %s; the web view keeps its data there", data, cache)
	}
	return nil
}

// glibUserDirs returns the user data and cache folders as GLib sees them.
func glibUserDirs() (data, cache string) {
	return C.GoString(C.g_get_user_data_dir()), C.GoString(C.g_get_user_cache_dir())
}
