//go:build dev

package main

import (
	"os"
	"time"

	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"
)

// EventSimulateDrop lets the end-to-end test, which drives the dev build from
// a browser where no real file drop reaches Go, hand a list of paths to the
// same handler a window drop calls. Only dev builds listen to it.
const EventSimulateDrop = "e2e:file-drop"

// devStartup wires the test hooks: the simulated drop, and
// IR_E2E_PIECE_DELAY (a Go duration) to slow replies down so that a test can
// stop one mid-stream.
func devStartup(a *App) {
	if d, err := time.ParseDuration(os.Getenv("IR_E2E_PIECE_DELAY")); err == nil && d > 0 {
		a.mu.Lock()
		if a.chats != nil {
			a.chats.PieceDelay = d
		}
		a.mu.Unlock()
	}
	wruntime.EventsOn(a.ctx, EventSimulateDrop, func(data ...interface{}) {
		var paths []string
		for _, d := range data {
			list, _ := d.([]interface{})
			for _, p := range list {
				if s, ok := p.(string); ok {
					paths = append(paths, s)
				}
			}
		}
		a.filesDropped(paths)
	})
}
