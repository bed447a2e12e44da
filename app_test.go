package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/db"
)

func TestAppSettingsRoundTrip(t *testing.T) {
	a := NewApp(t.TempDir(), zerolog.Nop())
	s, err := a.GetSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.Theme != "system" || s.API.Enabled {
		t.Fatalf("first run settings = %+v", s)
	}
	s.Theme = "dark"
	s.API.Port = 12000
	saved, err := a.SaveSettings(s)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Theme != "dark" || saved.API.Port != 12000 {
		t.Errorf("saved = %+v", saved)
	}
	again, err := a.GetSettings()
	if err != nil {
		t.Fatal(err)
	}
	if again.Theme != "dark" {
		t.Errorf("reloaded theme %q", again.Theme)
	}
	s.Theme = "neon"
	if _, err := a.SaveSettings(s); err == nil {
		t.Error("an invalid theme was saved")
	}
}

func TestAppStatusReportsCorruptDatabase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(config.DatabasePath(dir), []byte(strings.Repeat("garbage", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	a := NewApp(dir, zerolog.Nop())
	a.openService(context.Background())
	defer a.shutdown(nil)
	if !errors.Is(a.svcErr, db.ErrCorrupt) {
		t.Fatalf("svcErr = %v, want ErrCorrupt", a.svcErr)
	}
	if _, err := a.ListConversations(); err == nil || !strings.Contains(err.Error(), "is corrupt") {
		t.Errorf("a call needing the database: %v", err)
	}
	st, err := a.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.DatabaseError, "is corrupt") || st.DataDir != dir {
		t.Errorf("status = %+v", st)
	}

	good := NewApp(filepath.Join(t.TempDir(), "fresh"), zerolog.Nop())
	if err := os.MkdirAll(good.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	good.openService(context.Background())
	defer good.shutdown(nil)
	st, _ = good.Status()
	if st.DatabaseError != "" || st.SchemaVersion < 1 {
		t.Errorf("fresh status = %+v", st)
	}
}
