package events

// Channel forwards events into a buffered channel. When the channel is full
// the event is dropped rather than blocking the sender: a slow watcher must
// never stall a download.
type Channel struct {
	C chan Event
}

// NewChannel returns a Channel with room for buf events.
func NewChannel(buf int) *Channel {
	return &Channel{C: make(chan Event, buf)}
}

// Emit implements Emitter.
func (c *Channel) Emit(topic string, payload any) {
	select {
	case c.C <- Event{topic, payload}:
	default:
	}
}
