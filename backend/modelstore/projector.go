package modelstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Projector is the vision projector ("mmproj" file) a catalog model is
// published with, in the model's repository; every quant uses the same one.
type Projector struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// SizeExact is false for sizes rounded from the model page.
	SizeExact bool `json:"sizeExact,omitempty"`
}

// ProjectorTarget is the projector file a pull downloads with its model.
type ProjectorTarget struct {
	File      string `json:"file"`
	URL       string `json:"url"`
	SHA256    string `json:"sha256,omitempty"`
	Size      int64  `json:"size"`
	SizeExact bool   `json:"sizeExact"`
}

// recordProjector records, next to the model download d, the download of
// the target's projector. It waits, queued, for the model to be installed:
// the projector is attached to a model, and a projector blob without one
// would be collected as an orphan.
func (m *Manager) recordProjector(ctx context.Context, d Download, t Target) error {
	p := t.Projector
	if p == nil {
		return nil
	}
	total := p.Size
	if !p.SizeExact {
		total = 0
	}
	now := m.now().UnixMilli()
	_, err := m.db.ExecContext(ctx, `INSERT INTO downloads (id, name, url, repo, file, expected_sha256, total, state,
		created_at, updated_at, projector_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		uuid.NewString(), t.Name+" vision projector", p.URL, t.Repo, p.File, p.SHA256, total, StateQueued, now, now, d.ID)
	if err != nil {
		return fmt.Errorf("record projector download: %w", err)
	}
	return nil
}

// projectorParent returns the library model a projector download is for,
// "" while that model's download is not done.
func (m *Manager) projectorParent(ctx context.Context, d Download) (string, error) {
	parent, err := m.Get(ctx, d.ProjectorOf)
	if err != nil {
		return "", err
	}
	switch parent.State {
	case StateDone:
		if parent.ModelID == "" {
			return "", fmt.Errorf("download %s: its model's download recorded no model", d.ID)
		}
		return parent.ModelID, nil
	case StateCancelled:
		_ = m.setState(ctx, d.ID, StateCancelled, "")
		return "", ErrCancelled
	}
	return "", m.setState(ctx, d.ID, StateQueued, "")
}

// launchProjectors starts the projector downloads waiting for the model
// download id.
func (m *Manager) launchProjectors(ctx context.Context, id string) {
	ds, err := m.query(ctx, `SELECT `+downloadColumns+` FROM downloads WHERE projector_of = ?
		AND state IN ('queued', 'running', 'failed')`, id)
	if err != nil {
		return
	}
	for _, d := range ds {
		_, _ = m.Resume(ctx, d.ID)
	}
}

// waitProjectors waits for the projector downloads of the model download
// id that run in this process, and returns why one failed.
func (m *Manager) waitProjectors(ctx context.Context, id string) error {
	ds, err := m.query(ctx, `SELECT `+downloadColumns+` FROM downloads WHERE projector_of = ?`, id)
	if err != nil {
		return err
	}
	for _, d := range ds {
		// A job launched by the model's own just before it ended.
		deadline := time.Now().Add(time.Second)
		for {
			m.mu.Lock()
			_, running := m.jobs[d.ID]
			m.mu.Unlock()
			if running || time.Now().After(deadline) || d.State != StateQueued {
				break
			}
			time.Sleep(10 * time.Millisecond)
			if d, err = m.Get(ctx, d.ID); err != nil {
				return err
			}
		}
		if _, err := m.Wait(ctx, d.ID); err != nil {
			return fmt.Errorf("vision projector %s: %w", d.File, err)
		}
	}
	return nil
}
