//go:build !linux && !bindings

package main

// keepWebviewData does nothing here. On Windows, main passes the folder to
// WebView2 through options.Windows.WebviewUserDataPath; on macOS, WKWebView
// keeps its data under ~/Library/WebKit/<bundle id>, and Wails v2 offers no
// other place.
func keepWebviewData(string) error { return nil }
