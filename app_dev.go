//go:build dev

package main

import wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

// EventSimulateDrop lets the end-to-end test, which drives the dev build from
// a browser where no real file drop reaches Go, hand a list of paths to the
// same handler a window drop calls. Only dev builds listen to it.
const EventSimulateDrop = "e2e:file-drop"

func devStartup(a *App) {
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
