package events

import "context"

// WailsEmitFunc has the signature of the Wails runtime's EventsEmit. The
// desktop app passes runtime.EventsEmit; taking it as a value keeps this
// package (and so the ir command) free of GUI libraries.
type WailsEmitFunc func(ctx context.Context, eventName string, optionalData ...interface{})

// Wails delivers events to a Wails window's frontend, where
// runtime.EventsOn(topic, ...) receives the payload as JSON.
type Wails struct {
	ctx  context.Context
	emit WailsEmitFunc
}

// NewWails returns an Emitter for the window whose Wails context is ctx
// (the one OnStartup receives). A nil ctx or emit yields an emitter that
// drops events, for code paths that run before the window exists.
func NewWails(ctx context.Context, emit WailsEmitFunc) *Wails {
	return &Wails{ctx: ctx, emit: emit}
}

// Emit implements Emitter.
func (w *Wails) Emit(topic string, payload any) {
	if w == nil || w.ctx == nil || w.emit == nil {
		return
	}
	w.emit(w.ctx, topic, payload)
}
