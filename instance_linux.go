//go:build linux

package main

import (
	"encoding/json"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/wailsapp/wails/v2/pkg/options"
)

// handOff gives args to the instance already running with this
// single-instance id, if there is one, and reports whether it took them.
// It speaks the D-Bus interface of Wails' SingleInstanceLock on Linux
// (internal/frontend/desktop/linux/single_instance.go): the name
// org.wails_app_<id>.SingleInstance with a SendMessage(json) method. Doing it
// here, before the window and the data directory are opened, keeps the
// second process from touching either. Without a session bus there is no
// instance to find: (false, nil).
func handOff(id string, args []string, dir string) (bool, error) {
	conn, err := dbus.SessionBusPrivate()
	if err != nil {
		return false, nil
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return false, nil
	}
	if err := conn.Hello(); err != nil {
		return false, nil
	}
	wid := "wails_app_" + strings.NewReplacer("-", "_", ".", "_").Replace(id)
	name := "org." + wid + ".SingleInstance"
	path := dbus.ObjectPath("/org/" + wid + "/SingleInstance")
	var owned bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err != nil || !owned {
		return false, err
	}
	msg, err := json.Marshal(options.SecondInstanceData{Args: args, WorkingDirectory: dir})
	if err != nil {
		return false, err
	}
	if err := conn.Object(name, path).Call(name+".SendMessage", 0, string(msg)).Store(); err != nil {
		return false, err
	}
	return true, nil
}
