package events

import (
	"sync"
	"time"
)

// Meter turns a growing byte count into Progress values with a smoothed rate
// and an ETA, and emits them at most every interval (plus the final one), so
// that a tight copy loop does not flood the emitter.
type Meter struct {
	mu       sync.Mutex
	emit     Emitter
	topic    string
	p        Progress
	start    time.Time
	lastT    time.Time
	lastN    int64
	lastEmit time.Time
	interval time.Duration
	now      func() time.Time
}

// NewMeter starts a meter for the task described by p (ID, Kind, Name, Total,
// and Done when resuming).
func NewMeter(e Emitter, topic string, p Progress) *Meter {
	now := time.Now()
	if p.State == "" {
		p.State = "running"
	}
	return &Meter{emit: Or(e), topic: topic, p: p, start: now, lastT: now, lastN: p.Done,
		interval: 200 * time.Millisecond, now: time.Now}
}

// SetTotal changes the expected total (for example once a server announced
// it).
func (m *Meter) SetTotal(total int64) {
	m.mu.Lock()
	m.p.Total = total
	m.mu.Unlock()
}

// Set records that done bytes are complete and emits a progress event when
// enough time has passed since the last one.
func (m *Meter) Set(done int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if dt := now.Sub(m.lastT); dt >= 500*time.Millisecond {
		inst := float64(done-m.lastN) / dt.Seconds()
		if inst < 0 {
			inst = 0
		}
		if m.p.Rate == 0 {
			m.p.Rate = inst
		} else {
			// Exponential smoothing: steady enough to read, quick to follow a
			// real change of speed.
			m.p.Rate = 0.7*m.p.Rate + 0.3*inst
		}
		m.lastT, m.lastN = now, done
	}
	m.p.Done = done
	m.p.ETA = 0
	if m.p.Rate > 0 && m.p.Total > done {
		m.p.ETA = time.Duration(float64(m.p.Total-done) / m.p.Rate * float64(time.Second))
	}
	if now.Sub(m.lastEmit) >= m.interval {
		m.lastEmit = now
		m.emit.Emit(m.topic, m.p)
	}
}

// State emits a state change (always, not throttled). errText may be empty.
func (m *Meter) State(state, errText string) {
	m.mu.Lock()
	m.p.State = state
	m.p.Error = errText
	if state != "running" {
		m.p.Rate, m.p.ETA = 0, 0
	}
	p := m.p
	m.mu.Unlock()
	m.emit.Emit(m.topic, p)
}

// Progress returns the latest values.
func (m *Meter) Progress() Progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.p
}
