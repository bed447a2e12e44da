// Package config knows where Inference Runtime keeps its data on each
// operating system and reads and writes the user's settings file.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// EnvHome names the environment variable that overrides the data directory.
const EnvHome = "IR_HOME"

// File names inside the data directory.
const (
	SettingsFile = "settings.json"
	DatabaseFile = "inference-runtime.db"
	LogsDir      = "logs"
)

// DataDir returns the absolute path of the data directory. The first
// non-empty of these wins: override (the --home flag), $IR_HOME, the per-OS
// default:
//
//	Linux and other Unix: $XDG_DATA_HOME/inference-runtime, else ~/.local/share/inference-runtime
//	macOS:                ~/Library/Application Support/Inference Runtime
//	Windows:              %AppData%\Inference Runtime
//
// DataDir does not create the directory; EnsureDataDir does.
func DataDir(override string) (string, error) {
	return dataDir(override, runtime.GOOS, os.Getenv, os.UserHomeDir)
}

// EnsureDataDir resolves the data directory like DataDir and creates it
// (readable by the user only) if it does not exist yet.
func EnsureDataDir(override string) (string, error) {
	dir, err := DataDir(override)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	return dir, nil
}

// dataDir is DataDir with the operating system and its environment passed in,
// so every platform's rule can be tested on any machine.
func dataDir(override, goos string, getenv func(string) string, home func() (string, error)) (string, error) {
	if override != "" {
		return absolute(override)
	}
	if dir := getenv(EnvHome); dir != "" {
		return absolute(dir)
	}
	switch goos {
	case "windows":
		appData := getenv("AppData")
		if appData == "" {
			return "", errors.New("data directory: %AppData% is not set; set " + EnvHome)
		}
		return filepath.Join(appData, "Inference Runtime"), nil
	case "darwin", "ios":
		h, err := home()
		if err != nil || h == "" {
			return "", fmt.Errorf("data directory: no home directory (set %s): %w", EnvHome, err)
		}
		return filepath.Join(h, "Library", "Application Support", "Inference Runtime"), nil
	default:
		// The XDG spec says relative values must be ignored.
		if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
			return filepath.Join(x, "inference-runtime"), nil
		}
		h, err := home()
		if err != nil || h == "" {
			return "", fmt.Errorf("data directory: no home directory (set %s): %w", EnvHome, err)
		}
		return filepath.Join(h, ".local", "share", "inference-runtime"), nil
	}
}

func absolute(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %q: %w", dir, err)
	}
	return abs, nil
}

// SettingsPath is the settings file inside the data directory dir.
func SettingsPath(dir string) string { return filepath.Join(dir, SettingsFile) }

// DatabasePath is the SQLite database inside the data directory dir.
func DatabasePath(dir string) string { return filepath.Join(dir, DatabaseFile) }

// LogsPath is the folder for log files inside the data directory dir.
func LogsPath(dir string) string { return filepath.Join(dir, LogsDir) }
